import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc, pccAsync } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

let fleet: SshdFleet;
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  fleet = await startSshdHosts(3);
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-cli-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  writeFileSync(path.join(project, 'config/vars.env'), `WORK_ROOT=${path.join(dir, 'work')}\n`);
  env = { HOME: path.join(dir, 'home') };
});
afterAll(async () => {
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
});

const p = (...args: string[]) => pcc(['--project', project, ...args], env);

describe('pcc CLI on three real sshd hosts', () => {
  it('hosts add, the table, and bad input', () => {
    for (const h of fleet.hosts) {
      const r = p('hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key, '--group', 'bench');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const list = p('hosts');
    expect(list.stdout).toMatch(/^name\s+provider\s+address/);
    expect(list.stdout).toContain(`h2    static    ${fleet.hosts[1]!.address}:22`);
    const bad = p('hosts', 'add', 'h9', 'nobody-at-nowhere');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("pcc: target 'nobody-at-nowhere' is not user@address[:port]; e.g. pcc hosts add gpu1 ubuntu@203.0.113.7:22\n");
    const badName = p('hosts', 'add', 'Bad_Name', 'root@127.0.0.1');
    expect(badName.stderr).toMatch(/^pcc: host name 'Bad_Name': use lowercase letters/);
    // The same host again is fine (a script may repeat it); a different one under a taken name is not.
    const h1 = fleet.hosts[0]!;
    expect(p('hosts', 'add', h1.name, `root@${h1.address}:22`, '--key', fleet.key, '--group', 'bench').code).toBe(0);
    const taken = p('hosts', 'add', h1.name, `root@${h1.address}:22`);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe(`pcc: host 'h1' is already there (root@${h1.address}:22, groups static,bench, key ${fleet.key}); remove it first with pcc hosts rm h1, then add it again\n`);
  });

  it('exec prefixes output per host and fails when any host fails', () => {
    const ok = p('exec', 'bench', '--', 'echo', 'hello from $(hostname -I 2>/dev/null | wc -w) && echo second');
    expect(ok.code, ok.stderr).toBe(0);
    const lines = ok.stdout.trim().split('\n').sort();
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => /^h[123] \| second$/.test(l))).toHaveLength(3);
    const failing = p('exec', 'h1:h3', '--', 'exit 4');
    expect(failing.code).toBe(3);
    expect(failing.stderr).toContain('h1 | exit code 4');
    const none = p('exec', 'nosuch', '--', 'true');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no host or group is named 'nosuch'");
  });

  it('run converges, a second run reports changed=0, --json is machine-readable', () => {
    const playbook = path.join(dir, 'site.ts');
    writeFileSync(
      playbook,
      `import { definePlaybook, ops, facts } from 'pcc';
export default definePlaybook({
  name: 'site',
  async run(host) {
    const root = host.vars.WORK_ROOT + '/' + host.name;
    host.add(ops.directory(root));
    host.add(ops.file(root + '/motd', { content: 'hello ' + host.name + '\\n', mode: '0640' }));
    const n = await host.fact(facts.cpuCount);
    host.add(ops.lineInFile(root + '/env', { line: 'CPUS=' + n, match: /^CPUS=/ }));
  },
});
`,
    );
    const first = p('run', playbook, 'all');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/h1\s+0\s+3\s+0\s+0/);
    expect(readFileSync(path.join(dir, 'work/h2/motd'), 'utf8')).toBe('hello h2\n');
    const again = p('run', playbook, 'all', '--json');
    expect(again.code).toBe(0);
    const json = JSON.parse(again.stdout);
    expect(json.hosts.map((h: { changed: number }) => h.changed)).toEqual([0, 0, 0]);
    expect(json.hosts.map((h: { ok: number }) => h.ok)).toEqual([3, 3, 3]);
    const dry = p('run', playbook, 'h1', '--dry');
    expect(dry.stdout).toContain('(dry run: nothing was changed)');
  });

  it('a host killed mid-run is unreachable; the others finish', async () => {
    const playbook = path.join(dir, 'slow.ts');
    writeFileSync(
      playbook,
      `import { definePlaybook, ops } from 'pcc';
export default definePlaybook({
  name: 'slow',
  run(host) {
    const dir = host.vars.WORK_ROOT + '/' + host.name;
    host.add(ops.command('touch ' + dir + '/slow-started; sleep 2; touch ' + dir + '/slow-done', { creates: dir + '/slow-done' }));
  },
});
`,
    );
    const running = pccAsync(['run', playbook, 'all', '--json', '--project', project], env);
    // Kill h2 while its change runs, not while pcc is still starting.
    const started = path.join(dir, 'work/h2/slow-started');
    for (let i = 0; i < 300 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(started)).toBe(true);
    fleet.kill('h2');
    const result = await running;
    expect(result.code, result.stdout.slice(0, 3000) + result.stderr).toBe(4);
    const json = JSON.parse(result.stdout);
    const byHost = Object.fromEntries(json.hosts.map((h: { host: string }) => [h.host, h]));
    expect(byHost.h2.status).toBe('unreachable');
    expect(byHost.h1.status).toBe('changed');
    expect(byHost.h3.status).toBe('changed');
    expect(execFileSync('ls', [path.join(dir, 'work/h3')], { encoding: 'utf8' })).toContain('slow-done');
  });
});
