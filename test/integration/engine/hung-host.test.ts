import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc, pccAsync, type CliResult } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/**
 * Issue 19: a host whose session hangs after the SSH handshake (here an sshd
 * with `ForceCommand sleep 600`, as a .bashrc that sleeps would) used to hang
 * `pcc exec` and `pcc run` forever. It answers keepalives, so only the
 * round trip's timeout can end it.
 */
let fleet: SshdFleet;
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;

const UNREACHABLE = 4;

beforeAll(async () => {
  fleet = await startSshdHosts(2, { prefix: 'w', config: { w2: ['ForceCommand sleep 600'] } });
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-hung-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  writeFileSync(path.join(project, 'config/vars.env'), `WORK_ROOT=${path.join(dir, 'work')}\n`);
  env = { HOME: path.join(dir, 'home') };
  for (const h of fleet.hosts) {
    const added = pcc(['--project', project, 'hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key], env);
    expect(added.code, added.stderr).toBe(0);
  }
  writeFileSync(
    path.join(dir, 'site.ts'),
    `import { definePlaybook, ops, facts } from 'pcc';
export default definePlaybook({
  name: 'site',
  async run(host) {
    const root = host.vars.WORK_ROOT + '/' + host.name;
    host.add(ops.directory(root));
    const n = await host.fact(facts.cpuCount);
    host.add(ops.file(root + '/cpus', { content: n + '\\n' }));
  },
});
`,
  );
  writeFileSync(
    path.join(dir, 'stuck.ts'),
    `import { definePlaybook, ops } from 'pcc';
export default definePlaybook({
  name: 'stuck',
  run(host) {
    host.add(ops.command('sleep 600', { name: 'wait forever' }));
  },
});
`,
  );
});
afterAll(async () => {
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function timed(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult & { seconds: number }> {
  const started = Date.now();
  const r = await pccAsync(['--project', project, ...args], { ...env, ...extraEnv });
  return { ...r, seconds: (Date.now() - started) / 1000 };
}

describe('no host can hang a run', () => {
  it('a host whose session hangs after the handshake (ForceCommand sleep 600) ends within --timeout as unreachable, the others done, with the unreachable exit code: exec', async () => {
    const r = await timed(['exec', 'all', '--timeout', '3', '--json', '--', 'echo', 'hi']);
    expect(r.seconds).toBeLessThan(15);
    expect(r.code, r.stderr).toBe(UNREACHABLE);
    expect(r.stderr).toContain('w2 | unreachable: w2: timed out after 3 s while opening the session');
    const byHost = Object.fromEntries(JSON.parse(r.stdout).hosts.map((h: { host: string }) => [h.host, h]));
    expect(byHost.w1).toMatchObject({ exitCode: 0, unreachable: false, output: 'hi\n' });
    expect(byHost.w2).toMatchObject({ exitCode: null, unreachable: true, error: 'w2: timed out after 3 s while opening the session' });
  });

  it('issue 29: exec of a command that would succeed (true) on a host whose every session hangs ends within PCC_TIMEOUT_S, not the apply limit, as unreachable with exit 4, not as done', async () => {
    // Only PCC_TIMEOUT_S is low: the command's own limit stays PCC_APPLY_TIMEOUT_S (30 minutes), under which
    // the hung session used to run out its sleep 600 and then report true as done.
    const r = await timed(['exec', 'w2', '--json', '--', 'true'], { PCC_TIMEOUT_S: '2' });
    expect(r.seconds).toBeLessThan(10);
    expect(r.code, r.stderr).toBe(UNREACHABLE);
    expect(r.stderr).toBe('w2 | unreachable: w2: timed out after 2 s while opening the session\n');
    expect(JSON.parse(r.stdout).hosts).toEqual([{ host: 'w2', exitCode: null, unreachable: true, error: 'w2: timed out after 2 s while opening the session', output: '' }]);
    // On a healthy host the same PCC_TIMEOUT_S bounds only the opening: a command longer than it runs to its end.
    const slow = await timed(['exec', 'w1', '--', 'sleep 3; echo slept'], { PCC_TIMEOUT_S: '2' });
    expect(slow.code, slow.stderr).toBe(0);
    expect(slow.stdout).toBe('w1 | slept\n');
  });

  it('a command still running at --timeout on a healthy host ends as unreachable too (pcc cannot tell a hung login from a hung command), and nothing of it keeps running there', async () => {
    // A duration no other test uses, so that what is left of it can be found among all of this machine's processes.
    const r = await timed(['exec', 'w1', '--timeout', '2', '--', 'sh', '-c', "'sleep 600.25; echo late'"]);
    expect(r.seconds).toBeLessThan(15);
    expect(r.code, r.stderr).toBe(UNREACHABLE);
    expect(r.stderr).toBe('w1 | unreachable: w1: timed out after 2 s while running the command\n');
    const left = spawnSync('pgrep', ['-f', 'sleep 600.25'], { encoding: 'utf8' });
    expect(left.stdout.trim(), 'the timed-out command is still running on w1').toBe('');
  });

  it('a host whose session hangs after the handshake (ForceCommand sleep 600) ends within --timeout as unreachable, the others done, with the unreachable exit code: run, with the step in the recap', async () => {
    const r = await timed(['run', path.join(dir, 'site.ts'), 'all', '--timeout', '3']);
    expect(r.seconds).toBeLessThan(15);
    expect(r.code, r.stdout + r.stderr).toBe(UNREACHABLE);
    expect(r.stdout).toContain('w2 | unreachable: w2: timed out after 3 s while gathering facts');
    expect(r.stdout).toMatch(/^w1\s+0\s+2\s+0\s+0$/m);
    expect(r.stdout).toMatch(/^w2\s+0\s+0\s+0\s+1$/m);
  });

  it('a change that hangs ends its host after PCC_APPLY_TIMEOUT_S as unreachable, naming the change; facts keep PCC_TIMEOUT_S', async () => {
    const r = await timed(['run', path.join(dir, 'stuck.ts'), 'w1', '--json'], { PCC_APPLY_TIMEOUT_S: '2', PCC_TIMEOUT_S: '60' });
    expect(r.seconds).toBeLessThan(15);
    expect(r.code, r.stdout + r.stderr).toBe(UNREACHABLE);
    const [w1] = JSON.parse(r.stdout).hosts;
    expect(w1).toMatchObject({ host: 'w1', status: 'unreachable', error: 'w1: timed out after 2 s during apply of wait forever' });
  });

  it('--timeout that is not a whole number of seconds is refused in one line (exit 1, a bad flag value), before any host is touched', async () => {
    for (const bad of ['0', '1.5', 'soon']) {
      const r = await timed(['exec', 'all', '--timeout', bad, '--', 'true']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe('pcc: --timeout takes a whole number of seconds, 1 or more (e.g. --timeout 300)\n');
    }
  });
});
