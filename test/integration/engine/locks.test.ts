import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { acquireLock } from '../../../src/core/process-lock.js';
import { openProject, type Project } from '../../../src/core/project.js';
import { localProvider } from '../../../src/providers/local/index.js';
import { StateStore } from '../../../src/state/store.js';
import { localContext } from '../../fixtures/local-hosts.js';

const HOLDER = path.join(import.meta.dirname, '../../fixtures/hold-lock.ts');

let dir: string;
let project: Project;
const holders: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-locks-'));
  mkdirSync(path.join(dir, 'project/.pcc'), { recursive: true });
  project = openProject({ project: path.join(dir, 'project'), home: path.join(dir, 'home') });
});
afterEach(() => {
  for (const h of holders.splice(0)) if (h.exitCode === null) h.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Another pcc process (node itself, so its pid is the holder's) that holds `lockDir` (pcc's own locking) until its stdin closes or it is killed. */
async function holdLock(lockDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, lockDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  holders.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', () => r())));

describe('locks between pcc runs', () => {
  it('a state lock held by another live pcc says "waiting for the pcc run with pid N" at once, and goes on when it is released', async () => {
    const child = await holdLock(path.join(project.stateDir, 'state.json.lock'));
    const waits: { message: string; at: number }[] = [];
    const started = Date.now();
    const store = new StateStore(project, (message) => waits.push({ message, at: Date.now() - started }));
    const update = store.update((s) => {
      s.images.x = { hash: 'h', builtAt: new Date().toISOString() };
    });
    await vi.waitFor(() => expect(waits).toHaveLength(1), { timeout: 10_000 });
    expect(waits).toEqual([{ message: `waiting for the pcc run with pid ${child.pid} (it holds .pcc/state.json)`, at: expect.any(Number) }]);
    // At once: the first look, not a timeout (this machine is shared, so with room for a slow start).
    expect(waits[0]!.at).toBeLessThan(3_000);
    child.stdin!.end();
    await update;
    expect((await store.read()).images.x?.hash).toBe('h');
  });

  it('a stale state lock of a killed pcc is taken over at once, not after 30 s', async () => {
    const child = await holdLock(path.join(project.stateDir, 'state.json.lock'));
    child.kill('SIGKILL');
    await exited(child);
    const waits: string[] = [];
    const started = Date.now();
    await new StateStore(project, (m) => waits.push(m)).update(() => undefined);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(waits).toEqual([]);
  });

  it('the local provider lock names the live pcc holding it, and is taken over at once when that pcc is killed', async () => {
    const notes: string[] = [];
    const ctx = localContext({
      projectDir: project.root,
      home: project.home,
      progress: { host() {}, note: (m) => notes.push(m), warn() {} },
    });
    const child = await holdLock(path.join(project.stateDir, 'local.lock'));
    const destroy = localProvider.destroy(ctx);
    await vi.waitFor(() => expect(notes).toHaveLength(1), { timeout: 10_000 });
    expect(notes).toEqual([`local: waiting for the pcc run with pid ${child.pid} (it holds the local hosts of this project)`]);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await destroy;
    expect(Date.now() - killedAt).toBeLessThan(5_000);
  });

  it('a lock held past its refresh interval (a base build holds one for minutes) stays fresh and is released without an error', async () => {
    const lockDir = path.join(dir, 'long.lock');
    // Refreshed every second here, as every 60 s by default.
    const release = await acquireLock({ lockDir, what: 'the test', waitMs: 0, staleMs: 2_000 });
    await new Promise((r) => setTimeout(r, 3_500));
    expect(Date.now() - statSync(lockDir).mtimeMs).toBeLessThan(1_900);
    await expect(release()).resolves.toBeUndefined();
    expect(existsSync(lockDir)).toBe(false);
  });
});
