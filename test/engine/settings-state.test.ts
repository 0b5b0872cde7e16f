import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject, type Project } from '../../src/core/project.js';
import { loadSettings } from '../../src/settings/load.js';
import { StateStore } from '../../src/state/store.js';

let dir: string;
let project: Project;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-settings-'));
  mkdirSync(path.join(dir, 'config'));
  project = openProject({ project: dir, home: path.join(dir, 'home') });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (name: string, text: string, mode = 0o644) => {
  writeFileSync(path.join(dir, 'config', name), text);
  chmodSync(path.join(dir, 'config', name), mode);
};

describe('settings', () => {
  it('loads config/*.env with defaults, and passes unknown keys through as vars', () => {
    cfg('ec2.env', 'EC2_REGION=eu-west-1\n');
    cfg('project.env', 'DATASET=/project/data\n');
    const s = loadSettings(project, {});
    expect(s.values.EC2_REGION).toBe('eu-west-1');
    expect(s.values.REGISTRY_PORT).toBe(5000);
    expect(s.vars).toEqual({ DATASET: '/project/data' });
  });

  it('names the file, the key and the fix for a bad value', () => {
    cfg('engine.env', 'PCC_CONCURRENCY=lots\n');
    expect(() => loadSettings(project, {})).toThrow(/^config\/engine.env: PCC_CONCURRENCY="lots" is invalid: .*; fix the value or remove the line for the default$/);
  });

  it('suggests the known key for a typo', () => {
    cfg('ec2.env', 'EC2_REGOIN=eu-west-1\n');
    expect(() => loadSettings(project, {})).toThrow('config/ec2.env: unknown setting EC2_REGOIN; did you mean EC2_REGION?');
  });

  it('refuses a config/.private that others can read, and secrets outside it', () => {
    cfg('.private', 'AWS_SECRET_ACCESS_KEY=abc\n', 0o644);
    expect(() => loadSettings(project, {})).toThrow('config/.private is readable by other users (mode 0644); run: chmod 600 config/.private');
    chmodSync(path.join(dir, 'config/.private'), 0o600);
    expect(loadSettings(project, {}).values.AWS_SECRET_ACCESS_KEY).toBe('abc');
    cfg('aws.env', 'AWS_SECRET_ACCESS_KEY=abc\n');
    expect(() => loadSettings(project, {})).toThrow('move it to config/.private');
  });

  it('never shows a secret value in an error', () => {
    cfg('.private', 'AWS_SECRET_ACCESS_KEY=\n', 0o600);
    cfg('a.env', 'OVERLAY_SUBNET=nope\n');
    expect(() => loadSettings(project, {})).toThrow(/OVERLAY_SUBNET="nope"/);
  });

  it('a key in two files is an error naming both', () => {
    cfg('a.env', 'REGISTRY_PORT=5000\n');
    cfg('b.env', 'REGISTRY_PORT=5001\n');
    expect(() => loadSettings(project, {})).toThrow('config/b.env: REGISTRY_PORT is already set in config/a.env; keep it in one file only');
  });
});

describe('state', () => {
  const host = (name: string) => ({
    name,
    address: '127.0.0.1',
    port: 22,
    user: 'root',
    provider: 'static' as const,
    groups: ['static'],
    createdAt: new Date().toISOString(),
    meta: {},
  });

  it('is written atomically as 0600 JSON and survives concurrent writers', async () => {
    const a = new StateStore(project);
    const b = new StateStore(project);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).update((s) => {
          s.hosts[`h${i}`] = host(`h${i}`);
        }),
      ),
    );
    const state = await a.read();
    expect(Object.keys(state.hosts)).toHaveLength(20);
    const file = path.join(dir, '.pcc/state.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
  });

  it('a broken state file gives a one-line error naming it', async () => {
    mkdirSync(path.join(dir, '.pcc'));
    writeFileSync(path.join(dir, '.pcc/state.json'), '{"version":1,"hosts":{"x":{"name":"x"}}}');
    await expect(new StateStore(project).read()).rejects.toThrow(/^\.pcc\/state.json: hosts.x.address: /);
  });
});
