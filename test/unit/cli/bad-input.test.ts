import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc } from '../../fixtures/cli.js';

/** Bad input to the built CLI: each refused with one line naming the flag or file, and nothing saved. */
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;
let key: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-bad-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  key = path.join(dir, 'id_test');
  writeFileSync(key, 'not a real key, only its existence counts here\n', { mode: 0o600 });
  env = { HOME: path.join(dir, 'home') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const p = (...args: string[]) => pcc(['--project', project, ...args], env);
const stateHosts = () => {
  try {
    return Object.keys(JSON.parse(readFileSync(path.join(project, '.pcc/state.json'), 'utf8')).hosts).sort();
  } catch {
    return [];
  }
};

describe('bad input is refused with one line, before anything is saved', () => {
  it('a value outside a choice, a misspelt flag and an unknown command are one line each, with the nearest', () => {
    const cases: [string[], string][] = [
      [['acquire', 'lcoal'], "pcc: provider 'lcoal' is not one of local, vagrant, ec2; did you mean local?\n"],
      [['acquire', 'local', '--type', 'gpux'], "pcc: --type 'gpux' is not one of cpu, gpu; did you mean gpu?\n"],
      [['init', '--provider', 'ec2'], "pcc: --provider 'ec2' is not one of local, vagrant\n"],
      [['acquire', 'local', '--cuont', '2'], 'pcc: unknown option --cuont (did you mean --count?); see pcc acquire --help\n'],
      [['stauts'], "pcc: unknown command 'stauts'; did you mean status? (see pcc --help)\n"],
    ];
    for (const [args, line] of cases) {
      const r = p(...args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: line });
    }
    expect(stateHosts()).toEqual([]);
  });

  it('hosts add with a quote or # in the target is refused before it is saved, and later adds still work', () => {
    const quote = p('hosts', 'add', 'x', 'ro"ot@127.0.0.1');
    expect(quote.code).toBe(1);
    expect(quote.stderr).toBe(
      `pcc: target 'ro"ot@127.0.0.1': the user 'ro"ot' cannot go into an ssh config (no quotes, #, backslashes or spaces)\n`,
    );
    const hash = p('hosts', 'add', 'y', 'root@127.0.0.1#22');
    expect(hash.code).toBe(1);
    expect(hash.stderr).toMatch(/^pcc: target 'root@127\.0\.0\.1#22': the address '127\.0\.0\.1#22' cannot go into an ssh config/);
    expect(stateHosts()).toEqual([]);
    const good = p('hosts', 'add', 'good1', 'root@127.0.0.1', '--key', key, '--group', 'web');
    expect(good.stderr).toBe('');
    expect(stateHosts()).toEqual(['good1']);
  });

  it('hosts add --key that does not exist is refused naming the flag', () => {
    const r = p('hosts', 'add', 'k1', 'root@127.0.0.1', '--key', path.join(dir, 'no-such-key'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pcc: --key ${path.join(dir, 'no-such-key')}: no such file (${path.join(dir, 'no-such-key')}); give the private key that logs in to the host\n`);
    expect(stateHosts()).not.toContain('k1');
  });

  it('a host named like a group (web, all) or a group named like a host is refused', () => {
    p('hosts', 'add', 'good1', 'root@127.0.0.1', '--key', key, '--group', 'web');
    for (const name of ['web', 'all', 'gpu']) {
      const r = p('hosts', 'add', name, 'root@127.0.0.2', '--key', key);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`pcc: host name '${name}' is also a group name, so patterns naming the group would match it; choose another name\n`);
    }
    const g = p('hosts', 'add', 'other1', 'root@127.0.0.2', '--key', key, '--group', 'good1');
    expect(g.stderr).toBe("pcc: --group 'good1' is also a host name, so patterns naming the host would match the group; choose another group\n");
    expect(stateHosts()).toEqual(['good1']);
  });

  it('--project with a typo, or at a folder that is not a pcc project, says so instead of "nothing runs"', () => {
    const typo = pcc(['--project', path.join(dir, 'projcet'), 'status'], env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe(`pcc: --project ${path.join(dir, 'projcet')}: no such folder (${path.join(dir, 'projcet')}); check the path\n`);
    const plain = path.join(dir, 'plain');
    mkdirSync(plain, { recursive: true });
    const notProject = pcc(['--project', plain, 'status'], env);
    expect(notProject.code).toBe(1);
    expect(notProject.stderr).toMatch(new RegExp(`^pcc: --project ${plain}: ${plain} is not a pcc project \\(it has no config/, docker/, playbooks/, \\.pcc/\\); check the path, or start one there with pcc init or pcc up\\n$`));
  });

  it('a LOCAL_SUBNET error names its file', () => {
    writeFileSync(path.join(project, 'config/local.env'), 'LOCAL_SUBNET=10.213.0.1/24\n');
    try {
      const r = p('acquire', 'local', '--dry');
      expect(r.code).toBe(1);
      // A dry run may have printed its plan first; the error is its last line.
      expect(r.stderr.trim().split('\n').at(-1)).toBe('pcc: config/local.env: LOCAL_SUBNET=10.213.0.1/24 has host bits set; use 10.213.0.0/24');
    } finally {
      rmSync(path.join(project, 'config/local.env'));
    }
  });
});
