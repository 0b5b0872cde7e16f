import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCliProject, type LocalCliProject } from '../../fixtures/cli-project.js';

/**
 * `acquire --autostop` on real local hosts (a controller and one compute
 * host, nspawn): the agent goes on right after the host is up, and setup
 * keeps it as it is; a second setup changes nothing.
 */
let t: LocalCliProject;
let env: NodeJS.ProcessEnv;
const p = (...args: string[]) => t.p(...args);
const json = (...args: string[]) => t.json(...args);
const AGENT_OPS = ['file /etc/pcc/autostop.conf', 'file /etc/pcc/autostop.sh', 'unit pcc-autostop.service', 'unit pcc-autostop.timer'];

beforeAll(async () => {
  t = await localCliProject('autostop-setup');
  ({ env } = t);
});

afterAll(() => t?.stop());

describe('acquire --autostop, then setup (real local hosts)', () => {
  it('acquire local --autostop 30m installs the agent once the host answers on ssh', { timeout: 300_000 }, () => {
    const init = p('init', '--provider', 'local');
    expect(init.code, `${init.stderr}\n${init.stdout}`).toBe(0);
    const acquired = json('acquire', 'local', '--autostop', '30m');
    const run = acquired.autostop.result.hosts[0];
    expect(run.host).toBe('local1');
    expect(run.ops.filter((o: { name: string }) => AGENT_OPS.includes(o.name)).map((o: { status: string }) => o.status)).toEqual(['changed', 'changed', 'changed', 'changed']);
    const active = p('exec', 'local1', '--', 'systemctl is-active pcc-autostop.timer; cat /etc/pcc/autostop.conf');
    expect(active.stdout).toContain('active');
    expect(active.stdout).toContain('IDLE_S=1800');
  });

  it('pcc exec and pcc setup renew the host\'s "heard" time, the lease\'s clock (read back with the real ssh client)', { timeout: 120_000 }, () => {
    const ssh = (command: string) => spawnSync('ssh', ['-F', path.join(env.HOME!, '.ssh/config'), '-o', 'BatchMode=yes', 'local1', command], { encoding: 'utf8' });
    const heard = () => Number(ssh('stat -c %Y /run/pcc-autostop/heard').stdout.trim());
    // The agent makes its folder at its first check, right after the timer starts.
    for (let i = 0; i < 30 && ssh('test -f /run/pcc-autostop/heard').status !== 0; i++) spawnSync('sleep', ['1']);
    const old = () => expect(ssh('touch -d @1000000000 /run/pcc-autostop/heard').status).toBe(0);
    const now = () => Math.floor(Date.now() / 1000);
    old();
    expect(heard()).toBe(1000000000);
    expect(p('exec', 'local1', '--', 'true').code).toBe(0);
    expect(Math.abs(heard() - now())).toBeLessThan(30);
    old();
    json('setup', 'local1', '--dry');
    expect(Math.abs(heard() - now())).toBeLessThan(30);
  });

  it('item 3: user nobody cannot write /run/pcc-autostop/heard (root\'s, 0644), so no one but pcc renews the lease', () => {
    const ssh = (command: string) => spawnSync('ssh', ['-F', path.join(env.HOME!, '.ssh/config'), '-o', 'BatchMode=yes', 'local1', command], { encoding: 'utf8' });
    expect(ssh('stat -c %U:%a /run/pcc-autostop/heard').stdout.trim()).toBe('root:644');
    const asNobody = (command: string) => ssh(`setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '${command}'`);
    expect(asNobody('id -u').stdout.trim()).toBe('65534');
    expect(asNobody('touch /run/pcc-autostop/heard').status).not.toBe(0);
    expect(asNobody('echo x >> /run/pcc-autostop/heard').status).not.toBe(0);
  });

  it('setup keeps the agent as it is, and a second setup changes nothing', { timeout: 300_000 }, () => {
    const first = json('setup', 'local1');
    const host = first.hosts.find((h: { host: string }) => h.host === 'local1');
    expect(host.ops.filter((o: { name: string }) => AGENT_OPS.includes(o.name)).map((o: { status: string }) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const again = json('setup', 'local1');
    // The controller and local1, counted first: a loop over no hosts would pass without checking anything.
    expect(again.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['init', 'local1']);
    for (const h of again.hosts) expect(h.changed, `${h.host}: ${JSON.stringify(h.ops.filter((o: { status: string }) => o.status !== 'ok'))}`).toBe(0);
  });
});
