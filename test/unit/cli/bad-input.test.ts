import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      [['acquire', 'lcoal'], "pcc: provider 'lcoal' is not one of local, vagrant, ec2, vm; did you mean local?\n"],
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

/** Issue 29's findings on the built CLI, each in a project of its own: refused in one line, nothing written. */
describe('issue 29: refused in one line, nothing written', () => {
  let own: string;
  let ownEnv: NodeJS.ProcessEnv;
  const q = (...args: string[]) => pcc(['--project', own, ...args], ownEnv);
  const record = (name: string) => JSON.parse(readFileSync(path.join(own, '.pcc/state.json'), 'utf8')).hosts[name];

  beforeAll(() => {
    own = path.join(dir, 'issue29');
    mkdirSync(path.join(own, 'config'), { recursive: true });
    // Connections to the static host are refused at once (nothing listens on port 1): no retry to wait out.
    ownEnv = { HOME: path.join(dir, 'home29'), PCC_CONNECT_RETRIES: '0' };
    expect(q('hosts', 'add', 'web1', 'root@127.0.0.1:1', '--key', key, '--group', 'web').code).toBe(0);
  });

  it("item 11: pcc exec web1 true (no --) says where the -- goes, not 'unknown option --true'", () => {
    const cases: [string[], string][] = [
      [['exec', 'web1', 'true'], `pcc: the command goes after --: pcc --project ${own} exec web1 -- true\n`],
      [['exec', '--timeout', '5', 'web1', 'uptime', '-a'], `pcc: the command goes after --: pcc --project ${own} exec --timeout 5 web1 -- uptime -a\n`],
      [['exec', 'web1', 'sh', '-c', 'echo $HOME'], `pcc: the command goes after --: pcc --project ${own} exec web1 -- sh -c 'echo $HOME'\n`],
    ];
    for (const [args, line] of cases) {
      const r = q(...args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: line });
    }
    // A misspelt flag of exec itself is still that.
    expect(q('exec', 'web1', '--stdn', '--', 'true').stderr).toBe('pcc: unknown option --stdn (did you mean --stdin?); see pcc exec --help\n');
  });

  it('item 7: pcc autostop on a static host is refused naming it (pcc cannot start it again); --static-ok goes on with a warning naming it', () => {
    const refused = q('autostop', 'web1', '--idle', '30m');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('pcc: web1 is a static host, which pcc cannot start again once autostop powers it off; leave it out (web1:-static), or pass --static-ok\n');
    expect(record('web1').autostop).toBeUndefined();
    // --off is always fine: it only takes autostop away.
    expect(q('autostop', 'web1', '--off').stderr).not.toMatch(/static host/);

    const ok = q('autostop', 'web1', '--idle', '30m', '--static-ok');
    expect(ok.stderr).toMatch(/web1 is a static host: autostop powers it off when idle, and pcc cannot start it again; start it by hand/);
    // Not refused: the setting is recorded, and the agent goes on once the host answers (here the key is no
    // real key and nothing listens, so the host fails or is unreachable: 3 or 4, never the refusal's 1).
    expect([3, 4]).toContain(ok.code);
    expect(record('web1').autostop).toEqual({ idleMinutes: 30, down: false });
  });

  it('item 8: pcc inventory --pyinfra into a folder that does not exist is one line, and makes no folder', () => {
    const missing = path.join(dir, 'nonexistent', 'dir', 'x.py');
    const r = q('inventory', '--pyinfra', missing);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pcc: --pyinfra ${missing}: there is no folder ${path.dirname(missing)}; make it first, or write the inventory into one that exists\n`);
    expect(existsSync(path.join(dir, 'nonexistent'))).toBe(false);
    // Into a folder that exists it writes the module and its known_hosts.
    const good = path.join(dir, 'inventory.py');
    expect(q('inventory', '--pyinfra', good).code).toBe(0);
    expect(existsSync(good)).toBe(true);
  });

  it('item 11: a .pccignore that is a folder is one line naming it, not internal error: EISDIR', () => {
    mkdirSync(path.join(own, '.pccignore'));
    try {
      const r = q('sync', 'up', 'web1', '--dry');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`pcc: ${path.join(own, '.pccignore')} is not a file; .pccignore holds gitignore lines: remove the folder, or make it a file\n`);
    } finally {
      rmSync(path.join(own, '.pccignore'), { recursive: true });
    }
  });

  it('item 6: pcc hosts import over a different host of the same name is refused as hosts add is, with nothing written', () => {
    const before = record('web1');
    const inventory = path.join(dir, 'inventory.ini');
    writeFileSync(inventory, '[web]\nweb1 ansible_host=127.0.0.2 ansible_user=admin tier=front\n');
    const r = q('hosts', 'import', inventory);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/host 'web1' is already there as another host \(root@127\.0\.0\.1:1, .*\); remove it first with pcc hosts rm web1, then import again\n$/);
    expect(record('web1')).toEqual(before);
    expect(existsSync(path.join(own, 'config/hosts/web1.env'))).toBe(false);
  });
});
