import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/core/progress.js';
import { openProject } from '../../../src/core/project.js';
import { refreshAliases } from '../../../src/fleet/aliases.js';
import { loadSettings } from '../../../src/settings/load.js';
import { StateStore } from '../../../src/state/store.js';
import { pcc } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/*
 * Issue 30, item 5, through the CLI: a provider pattern means compute hosts.
 * The project's state holds the local provider's controller `init` and one
 * compute host `local1`, as pcc records them, each on a real sshd host: `pcc
 * exec local` and `pcc sync down local` reach local1 and never init.
 */

let fleet: SshdFleet;
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  fleet = await startSshdHosts(2, { prefix: 'cp' });
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-ctl-pattern-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  mkdirSync(path.join(project, '.pcc'), { recursive: true });
  env = { HOME: path.join(dir, 'home') };
  const record = (name: string, at: number, groups: string[]) => ({
    name,
    address: fleet.hosts[at]!.address,
    port: 22,
    user: 'root',
    key: fleet.key,
    provider: 'local',
    groups,
    status: 'running',
    createdAt: '2026-12-01T00:00:00.000Z',
    meta: {},
  });
  const state = { version: 1, hosts: { init: record('init', 0, ['controller']), local1: record('local1', 1, ['local', 'cpu']) }, images: {}, volumes: {}, providers: {} };
  writeFileSync(path.join(project, '.pcc/state.json'), JSON.stringify(state, null, 2));
  // The ssh aliases acquire would have written (sync goes through them).
  const opened = openProject({ project, home: env.HOME! });
  await refreshAliases({ project: opened, settings: loadSettings(opened), state: new StateStore(opened), progress: silentProgress, dry: false }, 'local');
});

afterAll(async () => {
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const p = (...args: string[]) => pcc(['--project', project, ...args], env);

describe('a provider pattern means compute hosts (the controller by name only)', () => {
  it('exec local does not reach init; exec init and exec controller do', () => {
    const reached = (pattern: string) => {
      const r = p('exec', pattern, '--', 'echo', 'here');
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean).map((l) => l.replace(/ +\| /, ' | ')).sort();
    };
    expect(reached('local')).toEqual(['local1 | here']);
    expect(reached('local*')).toEqual(['local1 | here']);
    expect(reached('init')).toEqual(['init | here']);
    expect(reached('controller')).toEqual(['init | here']);
    expect(reached('all')).toEqual(['init | here', 'local1 | here']);
  });

  it('sync down local copies from local1 alone (the controller was never asked)', () => {
    const out = path.join(dir, 'down');
    const remote = path.join(dir, 'remote');
    mkdirSync(remote, { recursive: true });
    writeFileSync(path.join(remote, 'result.txt'), 'done\n');
    const r = p('sync', 'down', 'local', remote, out);
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\binit\b/);
    expect(existsSync(path.join(out, 'result.txt'))).toBe(true);
    expect(readdirSync(out)).toEqual(['result.txt']);
  });

  it('one truth for groups: pcc hosts gives init the group controller only, as the state has it', () => {
    const hosts = JSON.parse(p('hosts', '--json').stdout) as { name: string; groups: string[] }[];
    const byName = Object.fromEntries(hosts.map((h) => [h.name, h]));
    expect(byName.init!.groups).toEqual(['controller']);
    expect(p('hosts').stdout).toMatch(/^init\s+local\s+\S+\s+root\s+controller\s/m);
  });
});
