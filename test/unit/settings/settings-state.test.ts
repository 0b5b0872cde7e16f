import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject, type Project } from '../../../src/core/project.js';
import { loadSettings } from '../../../src/settings/load.js';
import { StateStore } from '../../../src/state/store.js';

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
  it('loads config/*.env with defaults, and playbook variables from config/vars.env', () => {
    cfg('ec2.env', 'EC2_REGION=eu-west-1\n');
    cfg('vars.env', 'DATASET=/project/data\n');
    const s = loadSettings(project, {});
    expect(s.values.EC2_REGION).toBe('eu-west-1');
    expect(s.values.REGISTRY_PORT).toBe(5000);
    expect(s.vars).toEqual({ DATASET: '/project/data' });
  });

  it('names the file, the key and the fix for a bad value', () => {
    cfg('engine.env', 'PCC_CONCURRENCY=lots\n');
    expect(() => loadSettings(project, {})).toThrow(/^config\/engine.env: PCC_CONCURRENCY="lots" is invalid: .*; fix the value or remove the line for the default$/);
  });

  it('reads PCC_TIMEOUT_S and PCC_APPLY_TIMEOUT_S (120 s and 1800 s by default), and refuses a bad one in one line naming its file', () => {
    expect(loadSettings(project, {}).values).toMatchObject({ PCC_TIMEOUT_S: 120, PCC_APPLY_TIMEOUT_S: 1800 });
    cfg('pcc.env', 'PCC_TIMEOUT_S=30\nPCC_APPLY_TIMEOUT_S=600\n');
    expect(loadSettings(project, {}).values).toMatchObject({ PCC_TIMEOUT_S: 30, PCC_APPLY_TIMEOUT_S: 600 });
    expect(loadSettings(project, { PCC_TIMEOUT_S: '5' }).values.PCC_TIMEOUT_S).toBe(5);
    for (const bad of ['0', '2.5', '2m']) {
      cfg('pcc.env', `PCC_TIMEOUT_S=${bad}\n`);
      expect(() => loadSettings(project, {})).toThrow(
        new RegExp(`^config/pcc.env: PCC_TIMEOUT_S="${bad.replace('.', '\\.')}" is invalid: [^\\n]*; fix the value or remove the line for the default$`),
      );
    }
  });

  it('suggests the known key for a typo', () => {
    cfg('ec2.env', 'EC2_REGOIN=eu-west-1\n');
    expect(() => loadSettings(project, {})).toThrow('config/ec2.env:1: unknown setting EC2_REGOIN; did you mean EC2_REGION? (playbook variables go in config/vars.env)');
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
    expect(() => loadSettings(project, {})).toThrow('config/b.env:1: REGISTRY_PORT is already set in config/a.env; keep it in one file only');
  });
});

describe('settings files: every line read or refused', () => {
  it('refuses a line dotenv cannot parse, naming the file and line', () => {
    cfg('local.env', '# subnet\nLOCAL_SUBNET 10.9.0.0/24\n');
    expect(() => loadSettings(project, {})).toThrow(
      'config/local.env:2: not a KEY=value line; write KEY=value (quote a value that holds spaces or #), or start the line with #',
    );
  });

  it('refuses a binary file', () => {
    writeFileSync(path.join(dir, 'config/local.env'), Buffer.from([0x4c, 0x3d, 0x00, 0xff, 0x0a]));
    expect(() => loadSettings(project, {})).toThrow('config/local.env: is not a text file; it must hold KEY=value lines (dotenv), one a line');
  });

  it('refuses a key in the wrong case, and any unknown key, in a settings file', () => {
    cfg('local.env', 'local_subnet=10.9.0.0/24\n');
    expect(() => loadSettings(project, {})).toThrow('config/local.env:1: local_subnet: setting names are upper case; write LOCAL_SUBNET');
    cfg('local.env', 'LOCL_SUBNET=10.9.0.0/24\n');
    expect(() => loadSettings(project, {})).toThrow('config/local.env:1: unknown setting LOCL_SUBNET; did you mean LOCAL_SUBNET?');
    cfg('local.env', 'DATASET=/data\n');
    expect(() => loadSettings(project, {})).toThrow(
      'config/local.env:1: unknown setting DATASET; see the config/*.env.example files for the known settings (playbook variables go in config/vars.env)',
    );
  });

  it('refuses a setting, or a typo of one, in config/vars.env', () => {
    cfg('vars.env', 'A=1\nlocal_subnet=10.9.0.0/24\n');
    expect(() => loadSettings(project, {})).toThrow('config/vars.env:2: local_subnet is a pcc setting, not a variable; move it to config/local.env as LOCAL_SUBNET');
    cfg('vars.env', 'EC2_REGOIN=x\n');
    expect(() => loadSettings(project, {})).toThrow("config/vars.env:1: EC2_REGOIN uses pcc's prefix EC2_ but is no setting; did you mean EC2_REGION (in config/ec2.env)?");
  });

  it('a key twice in one file is an error naming both lines', () => {
    cfg('vars.env', 'A=1\n\nA=2\n');
    expect(() => loadSettings(project, {})).toThrow('config/vars.env:3: A is already set on line 1; keep one of them');
  });

  it('reads quoted, multi-line and commented values as dotenv does', () => {
    cfg('vars.env', '# c\nA="x y" # note\nB=\'one\ntwo\'\nexport C=3\nD=\n');
    expect(loadSettings(project, {}).vars).toEqual({ A: 'x y', B: 'one\ntwo', C: '3', D: '' });
  });

  it('secret variables may live in config/.private', () => {
    cfg('.private', 'API_TOKEN=t0k\nAWS_SECRET_ACCESS_KEY=abc\n', 0o600);
    const s = loadSettings(project, {});
    expect(s.vars).toEqual({ API_TOKEN: 't0k' });
    expect(s.origin.API_TOKEN).toBe('config/.private');
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

  it('a state written by an older pcc, with keys and cloud details in meta, reads into the typed fields', async () => {
    mkdirSync(path.join(dir, '.pcc'));
    const old = {
      ...host('gpu1'),
      provider: 'ec2',
      meta: { hostKey: 'ssh-ed25519 AAAA', wgPublicKey: 'wg=', region: 'eu-west-1', instanceType: 'g5.xlarge', spot: 'false' },
    };
    writeFileSync(path.join(dir, '.pcc/state.json'), JSON.stringify({ version: 1, hosts: { gpu1: old } }));
    const h = (await new StateStore(project).read()).hosts.gpu1!;
    expect(h).toMatchObject({ hostKey: 'ssh-ed25519 AAAA', overlayPublicKey: 'wg=', region: 'eu-west-1', instanceType: 'g5.xlarge' });
    expect(h.meta).toEqual({ spot: 'false' });
  });
});
