import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject } from '../../../src/core/project.js';
import { pccHostName } from '../../../src/fleet/import-inventory.js';
import { expandHostPattern, parseIniInventory, parseYamlInventory, pythonLiteral, shellWords, varText } from '../../../src/inventory/ansible.js';
import { hostVarsResolver, parseVarFlags } from '../../../src/settings/host-vars.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { pcc, repoRoot } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-inventory-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function freshProject(name: string): { root: string; env: NodeJS.ProcessEnv; run: (...args: string[]) => ReturnType<typeof pcc> } {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, 'config'), { recursive: true });
  const env = { HOME: path.join(dir, `${name}-home`) };
  return { root, env, run: (...args: string[]) => pcc(['--project', root, ...args], env) };
}

const INI = `# an inventory as Ansible users write them
lonely ansible_host=127.0.0.9
[web]
web[01:03] ansible_host=127.0.1.1 http_port=8080
db.example.com:2222 ansible_user=admin   # in two groups

[web:vars]
tier=front
shared="from web"
mode=0755
ratio=0.5

[db]
db.example.com role=primary flag=True nothing=None quoted='"x y"'

[db:vars]
shared=from_db
port_count=3

[prod:children]
web
db

[prod:vars]
env=prod
shared=from_prod

[all:vars]
ansible_user=deploy
region=home
`;

const YAML = `all:
  vars:
    region: home
    ansible_user: deploy
  hosts:
    solo:
      ansible_host: 127.0.0.8
      ansible_port: 2200
      ansible_ssh_private_key_file: /keys/solo
  children:
    gpu:
      vars:
        cuda: "12.4"
        count: 2
        spot: true
      hosts:
        g[1:2]:
          ansible_host: 127.0.2.1
        big:
          count: 8
    compute:
      vars:
        ansible_group_priority: 10
        count: 1
        tags: [a, b]
      children:
        gpu:
        cpu:
          hosts:
            c1:
              ansible_host: 127.0.3.1
`;

interface AnsibleList {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: { hosts?: string[]; children?: string[] } | AnsibleList['_meta'];
}

/** What pcc's hosts --json must say for each host, computed from ansible-inventory's own output. */
function expectedFrom(list: AnsibleList) {
  const groups = Object.fromEntries(Object.entries(list).filter(([k]) => k !== '_meta')) as Record<string, { hosts?: string[]; children?: string[] }>;
  const memberOf = (host: string): Set<string> => {
    const out = new Set<string>();
    const walk = (g: string): boolean => {
      const body = groups[g] ?? {};
      const has = (body.hosts ?? []).includes(host) || (body.children ?? []).map(walk).some(Boolean);
      // every group is walked (no short-circuit) so that all ancestors are found
      if (has) out.add(g);
      return has;
    };
    walk('all');
    for (const g of Object.keys(groups)) walk(g);
    out.delete('all');
    out.delete('ungrouped');
    return out;
  };
  const conn = ['ansible_host', 'ansible_port', 'ansible_user', 'ansible_ssh_private_key_file'];
  return Object.entries(list._meta.hostvars).map(([name, hv]) => ({
    name: pccHostName(name),
    address: String(hv.ansible_host ?? name),
    port: Number(hv.ansible_port ?? 22),
    user: String(hv.ansible_user ?? userInfo().username),
    key: hv.ansible_ssh_private_key_file === undefined ? undefined : String(hv.ansible_ssh_private_key_file),
    groups: [...memberOf(name)].sort(),
    vars: Object.fromEntries(
      Object.entries(hv)
        .filter(([k]) => !conn.includes(k))
        .map(([k, v]) => [k, varText(v)]),
    ),
  }));
}

describe('pcc hosts import agrees with the real ansible-inventory --list', () => {
  for (const [kind, text] of [
    ['ini', INI],
    ['yml', YAML],
  ] as const) {
    it(`an ${kind.toUpperCase()} inventory: hosts, groups (children included) and vars`, () => {
      const { root, env, run } = freshProject(`import-${kind}`);
      const file = path.join(root, `inventory.${kind}`);
      writeFileSync(file, text);
      const ansibleList = (inventory: string) => JSON.parse(execFileSync('ansible-inventory', ['-i', inventory, '--list'], { encoding: 'utf8', env: { ...process.env, ...env, ANSIBLE_HOME: path.join(dir, 'ansible') } })) as AnsibleList;
      const list = ansibleList(file);
      // --no-connect: these hosts are made up (db.example.com, big), and tests reach nothing outside 127/8.
      const imported = run('hosts', 'import', '--no-connect', file);
      expect(imported.stderr).toBe('');
      expect(imported.code).toBe(0);
      const again = run('hosts', 'import', '--no-connect', file);
      expect(again.code, again.stderr).toBe(0);

      const shown = JSON.parse(run('hosts', '--json').stdout) as (HostRecord & { vars: Record<string, string> })[];
      const actual = shown
        .map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, key: h.key, groups: h.groups.filter((g) => g !== 'static').sort(), vars: h.vars }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const expected = expectedFrom(list).sort((a, b) => a.name.localeCompare(b.name));
      expect(actual).toEqual(expected);
      expect(expected.length).toBeGreaterThanOrEqual(5);

      // And back: Ansible reading pcc's inventory script sees each host's variables as it did in the file.
      const script = path.join(root, 'inventory.sh');
      writeFileSync(script, `#!/bin/sh\nexec node ${path.join(repoRoot, 'bin/pcc.js')} --project ${root} inventory --ansible "$@"\n`, { mode: 0o755 });
      const back = ansibleList(script)._meta.hostvars;
      const connection = ['ansible_host', 'ansible_port', 'ansible_user', 'ansible_ssh_private_key_file', 'ansible_ssh_common_args'];
      const backVars = Object.entries(back)
        .map(([name, hv]) => ({ name, vars: Object.fromEntries(Object.entries(hv).filter(([k]) => !connection.includes(k))) }))
        .sort((a, b) => a.name.localeCompare(b.name));
      expect(backVars).toEqual(expected.map(({ name, vars }) => ({ name, vars })));
    });
  }

  it('names a bad line, and a group name pcc cannot use', () => {
    const { root, run } = freshProject('import-bad');
    writeFileSync(path.join(root, 'a.ini'), '[web]\nh1 port\n');
    expect(run('hosts', 'import', path.join(root, 'a.ini')).stderr).toMatch(/a\.ini:2: expected key=value host variable, got 'port'\n$/);
    writeFileSync(path.join(root, 'b.ini'), '[Web]\nh1\n');
    expect(run('hosts', 'import', path.join(root, 'b.ini')).stderr).toMatch(/group 'Web': pcc group names are lowercase letters, digits, _ and -; rename it in the inventory\n$/);
    expect(JSON.parse(run('hosts', '--json').stdout)).toEqual([]);
  });
});

describe('inventory parsing pieces', () => {
  it('expands ranges as Ansible does', () => {
    expect(expandHostPattern('web[01:03].x', 'f')).toEqual(['web01.x', 'web02.x', 'web03.x']);
    expect(expandHostPattern('h[1:5:2]', 'f')).toEqual(['h1', 'h3', 'h5']);
    expect(expandHostPattern('db-[a:c]', 'f')).toEqual(['db-a', 'db-b', 'db-c']);
  });

  it('reads values as Python literals and lines as shell words', () => {
    expect([pythonLiteral('22'), pythonLiteral('0755'), pythonLiteral('True'), pythonLiteral("'a b'"), pythonLiteral('0x10'), pythonLiteral('x=y')]).toEqual([22, '0755', true, 'a b', 16, 'x=y']);
    expect(shellWords(`h1 a="x y" b='q' c=d\\ e # note`, 'f')).toEqual(['h1', 'a=x y', 'b=q', 'c=d e']);
    const inv = parseIniInventory('[g]\nh:2201 k=v\n', 'f');
    expect(inv.hosts.get('h')).toEqual({ k: 'v', ansible_port: 2201 });
  });

  it('names the line of bad YAML in one line, as it does for INI', () => {
    expect(() => parseYamlInventory('all:\n  hosts:\n    a: [1\n', 'inv.yml')).toThrow(/^inv\.yml:4: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a \]$/);
  });
});

describe('variables per host and per group', () => {
  const host = (name: string, groups: string[]): HostRecord => ({ name, address: '127.0.0.1', port: 22, user: 'root', provider: 'static', groups: ['static', ...groups], createdAt: '', meta: {} });

  it('layer settings < group < host < --var, and say where each came from', () => {
    const { root } = freshProject('layers');
    mkdirSync(path.join(root, 'config/groups'));
    mkdirSync(path.join(root, 'config/hosts'));
    writeFileSync(path.join(root, 'config/groups/all.env'), 'A=all\nB=all\nC=all\nD=all\n');
    writeFileSync(path.join(root, 'config/groups/web.env'), 'B=web\nC=web\nD=web\n');
    writeFileSync(path.join(root, 'config/hosts/h1.env'), 'C=h1\nD=h1\n');
    const resolve = hostVarsResolver(openProject({ project: root }), { vars: { A: 'settings', Z: 'settings' }, origin: { A: 'config/vars.env', Z: 'config/vars.env' } }, parseVarFlags(['D=cli']));
    const hv = resolve(host('h1', ['web']));
    expect(hv.vars).toEqual({ Z: 'settings', A: 'all', B: 'web', C: 'h1', D: 'cli' });
    expect(hv.origin).toEqual({ Z: 'config/vars.env', A: 'config/groups/all.env:1', B: 'config/groups/web.env:1', C: 'config/hosts/h1.env:1', D: '--var' });
    expect(resolve(host('h2', [])).vars).toEqual({ Z: 'settings', A: 'all', B: 'all', C: 'all', D: 'cli' });
  });

  it('two groups that disagree are an error unless the host settles it', () => {
    const { root } = freshProject('disagree');
    mkdirSync(path.join(root, 'config/groups'));
    mkdirSync(path.join(root, 'config/hosts'));
    writeFileSync(path.join(root, 'config/groups/gpu.env'), 'CUDA=12.4\n');
    writeFileSync(path.join(root, 'config/groups/old.env'), '# old drivers\nCUDA=11.8\n');
    const resolve = hostVarsResolver(openProject({ project: root }), { vars: {}, origin: {} });
    expect(() => resolve(host('g1', ['gpu', 'old']))).toThrow(
      'config/groups/old.env:2 and config/groups/gpu.env:1 set CUDA differently for host g1; set it in config/hosts/g1.env, or in one group only',
    );
    writeFileSync(path.join(root, 'config/hosts/g1.env'), 'CUDA=12.0\n');
    expect(hostVarsResolver(openProject({ project: root }), { vars: {}, origin: {} })(host('g1', ['gpu', 'old'])).vars).toEqual({ CUDA: '12.0' });
  });

  it('refuses a pcc setting in a host or group file, and a bad --var', () => {
    const { root } = freshProject('setting-in-vars');
    mkdirSync(path.join(root, 'config/hosts'));
    writeFileSync(path.join(root, 'config/hosts/h1.env'), 'OK=1\nPCC_CONCURENCY=4\n');
    expect(() => hostVarsResolver(openProject({ project: root }), { vars: {}, origin: {} })(host('h1', []))).toThrow(
      "config/hosts/h1.env:2: PCC_CONCURENCY uses pcc's prefix PCC_ but is no setting; did you mean PCC_CONCURRENCY (in a config/*.env settings file)?",
    );
    expect(() => parseVarFlags(['novalue'])).toThrow("--var 'novalue' is not KEY=value; e.g. --var DATASET=/project/data");
  });
});

describe('variables reach a playbook on a real sshd host', () => {
  let fleet: SshdFleet;
  beforeAll(async () => {
    fleet = await startSshdHosts(1);
  });
  afterAll(async () => fleet?.stop());

  it('hosts add --var, group files, --var on run; hosts show redacts secrets', () => {
    const { root, run } = freshProject('run-vars');
    const h = fleet.hosts[0]!;
    const out = path.join(dir, 'run-vars-out');
    writeFileSync(path.join(root, 'config/vars.env'), `OUT=${out}\nGREETING=settings\nWHO=settings\n`);
    mkdirSync(path.join(root, 'config/groups'));
    writeFileSync(path.join(root, 'config/groups/bench.env'), 'GREETING=group\nWHO=group\n');
    const added = run('hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key, '--group', 'bench', '--var', 'WHO=host', '--var', 'db_password=s3cret');
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain(`variables in config/hosts/${h.name}.env`);
    expect(readFileSync(path.join(root, `config/hosts/${h.name}.env`), 'utf8')).toBe('WHO=host\ndb_password=s3cret\n');
    const playbook = path.join(root, 'vars.ts');
    writeFileSync(
      playbook,
      `import { definePlaybook, ops } from 'pcc';
export default definePlaybook({ name: 'vars', run(host) {
  host.add(ops.file(host.vars.OUT, { content: [host.vars.GREETING, host.vars.WHO, host.vars.EXTRA].join(' ') + '\\n' }));
} });
`,
    );
    const r = run('run', playbook, h.name, '--var', 'EXTRA=cli');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('group host cli\n');
    const shown = run('hosts', 'show', h.name);
    expect(shown.stdout).toMatch(/db_password\s+\(hidden\)\s+config\/hosts\/h1\.env:2/);
    expect(shown.stdout).toMatch(/WHO\s+host\s+config\/hosts\/h1\.env:1/);
    expect(shown.stdout + run('hosts', '--json').stdout + run('hosts', 'show', h.name, '--json').stdout).not.toContain('s3cret');
    // The exported inventory carries the variables, but not the secret: its name goes to stderr.
    const exported = run('inventory', '--ansible');
    expect(exported.code).toBe(0);
    expect(exported.stdout).not.toContain('s3cret');
    expect(JSON.parse(exported.stdout)._meta.hostvars[h.name]).toMatchObject({ OUT: out, GREETING: 'group', WHO: 'host' });
    expect(exported.stderr).toBe('pcc: left out of the inventory, as secrets: db_password (see pcc hosts show NAME)\n');
  });
});
