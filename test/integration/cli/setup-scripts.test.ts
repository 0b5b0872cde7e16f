import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../fixtures/cli.js';

/*
 * The set-up scripts (.ci/install-deps for running pcc, .ci/install-test-deps
 * for the suite) in their --dry mode, which changes nothing and reaches no
 * network. A stand-in dpkg-query on the PATH says no package is installed, so
 * every package counts as missing, as on a fresh machine. The dpkg lock test
 * holds the real /var/lib/dpkg/lock-frontend for two seconds the way apt does
 * (an fcntl lock, from python3's fcntl.lockf), which only makes another apt
 * wait; nothing of dpkg's is changed.
 */

/** The runtime packages, as the script declares them (its `apt_packages=( ... )` list). */
const RUNTIME = /^apt_packages=\(\n([\s\S]*?)^\)/m
  .exec(readFileSync(path.join(repoRoot, '.ci/install-deps'), 'utf8'))![1]!
  .split('\n')
  .flatMap((l) => l.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean));
/** What only the tests and benches need. */
const TEST_ONLY = ['ansible', 'vagrant', 'parallel', 'tmux', 'openssh-server', 'docker.io', 'buildah', 'nfs-ganesha'];
const DPKG_LOCK = '/var/lib/dpkg/lock-frontend';
let stubs: string;

beforeAll(() => {
  stubs = mkdtempSync(path.join(tmpdir(), 'pcc-setup-'));
  writeFileSync(path.join(stubs, 'dpkg-query'), '#!/bin/sh\n# a fresh machine: nothing installed\nexit 1\n');
  chmodSync(path.join(stubs, 'dpkg-query'), 0o755);
});

afterAll(() => rmSync(stubs, { recursive: true, force: true }));

const freshMachine = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${stubs}:${process.env.PATH}` });

/** The packages of the `would run: apt-get install` line. */
function wouldInstall(stdout: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith('would run: apt-get install'));
  return line ? line.replace(/^would run: apt-get install -y -qq --no-install-recommends /, '').split(' ') : [];
}

describe('item 11: the set-up installs what running pcc needs, and the test bench apart', () => {
  it('the runtime set-up on a machine without Ansible installs only what pcc up --provider local needs: no Ansible, Vagrant, parallel, tmux, moto, pyinfra or Go', () => {
    const r = spawnSync('bash', [path.join(repoRoot, '.ci/install-deps'), '--dry'], { env: freshMachine(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(RUNTIME).toEqual(expect.arrayContaining(['openssh-client', 'rsync', 'debootstrap', 'systemd-container', 'iproute2', 'iptables']));
    expect(wouldInstall(r.stdout)).toEqual(RUNTIME);
    expect(RUNTIME.filter((p) => TEST_ONLY.includes(p))).toEqual([]);
    expect(r.stdout).not.toMatch(/ansible|vagrant|parallel|moto|pyinfra|go install|tmux/);
    // The README's first set-up command is the runtime one alone.
    expect(readFileSync(path.join(repoRoot, 'README.md'), 'utf8')).toContain('bash .ci/install-deps && npm ci');
  });

  it('the test set-up adds the bench to the same apt run; CI runs it', () => {
    const r = spawnSync('bash', [path.join(repoRoot, '.ci/install-test-deps'), '--dry'], { env: freshMachine(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const packages = wouldInstall(r.stdout);
    expect(packages.slice(0, RUNTIME.length)).toEqual(RUNTIME);
    expect(packages).toEqual(expect.arrayContaining(TEST_ONLY));
    expect(readFileSync(path.join(repoRoot, '.ci/run'), 'utf8')).toContain('bash .ci/install-test-deps\n');
  });

  it('the dpkg lock held by another process: the install says so on one line, waits for it and goes on once it is free', async () => {
    // Held as apt holds it: an fcntl write lock, taken without waiting (a real apt at work here would make the test fail, not wait).
    const holder = spawn('python3', ['-c', `import fcntl, sys\nf = open(${JSON.stringify(DPKG_LOCK)}, 'r+')\nfcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nprint('locked', flush=True)\nsys.stdin.read()\n`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => (d.toString().includes('locked') ? resolve() : undefined));
        holder.on('exit', (code) => reject(new Error(`the lock holder exited ${code}`)));
      });
      const started = Date.now();
      const run = spawn('bash', [path.join(repoRoot, '.ci/install-deps'), '--dry'], { env: freshMachine() });
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // The line comes while the lock is held, before apt would run.
      await expect.poll(() => stderr, { timeout: 10_000 }).toContain('waiting for the dpkg lock');
      expect(stderr).toContain(`install-deps: waiting for the dpkg lock (${DPKG_LOCK}), held by process ${holder.pid} (python3), for up to 600 s`);
      expect(stdout).toBe('');
      await new Promise((r) => setTimeout(r, 2000));
      expect(run.exitCode).toBeNull();
      holder.stdin.end();
      const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
      expect(code, stderr).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect(stderr).toMatch(/install-deps: the dpkg lock is free after \d+ s/);
      expect(wouldInstall(stdout)).toEqual(RUNTIME);
    } finally {
      holder.kill();
    }
  });

  it('a lock held past PCC_DPKG_LOCK_WAIT_S ends the install with one line naming the holder, exit 1, before apt runs', async () => {
    const holder = spawn('python3', ['-c', `import fcntl, sys\nf = open(${JSON.stringify(DPKG_LOCK)}, 'r+')\nfcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nprint('locked', flush=True)\nsys.stdin.read()\n`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) => holder.stdout.on('data', (d: Buffer) => (d.toString().includes('locked') ? resolve() : undefined)));
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const run = spawn('bash', [path.join(repoRoot, '.ci/install-deps'), '--dry'], { env: { ...freshMachine(), PCC_DPKG_LOCK_WAIT_S: '1' } });
        let stdout = '';
        let stderr = '';
        run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        run.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`install-deps: the dpkg lock is still held by process ${holder.pid} (python3) after 1 s; let it finish (or stop it) and run this again`);
    } finally {
      holder.stdin.end();
      holder.kill();
    }
  });
});
