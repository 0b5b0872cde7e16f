import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc, repoRoot } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/*
 * The exported inventories against the real tools (Debian's ansible, pyinfra
 * from PyPI) on real sshd hosts, and an encrypted key that only a real
 * ssh-agent holds unlocked.
 */

let fleet: SshdFleet;
let dir: string;
let project: string;
let home: string;
const bin = path.join(repoRoot, 'bin/pcc.js');

beforeAll(async () => {
  fleet = await startSshdHosts(2, { prefix: 'a' });
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-tools-'));
  project = path.join(dir, 'project');
  home = path.join(dir, 'home');
  // A pcc project: --project refuses a folder that is none.
  mkdirSync(path.join(project, 'config'), { recursive: true });
  for (const [i, h] of fleet.hosts.entries()) {
    const r = pcc(['--project', project, 'hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key, '--group', i === 0 ? 'first' : 'second'], { HOME: home });
    expect(r.code, r.stderr).toBe(0);
  }
  // Trust on first use: the first connection records each host key in pcc's known_hosts.
  expect(pcc(['--project', project, 'exec', 'all', '--', 'true'], { HOME: home }).code).toBe(0);
});

afterAll(async () => {
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('pcc inventory with the real tools', () => {
  it('ansible-inventory --list and ansible -m ping accept pcc inventory --ansible as an inventory script', () => {
    const script = path.join(dir, 'pcc-inventory');
    writeFileSync(script, `#!/bin/sh\nexec node ${bin} --project ${project} inventory --ansible "$@"\n`);
    chmodSync(script, 0o755);
    const env = { ...process.env, HOME: home, ANSIBLE_HOME: path.join(dir, 'ansible'), ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible/tmp') };
    const list = JSON.parse(execFileSync('ansible-inventory', ['-i', script, '--list'], { env, encoding: 'utf8' }));
    expect(list.first.hosts).toEqual(['a1']);
    expect(list.static.hosts).toEqual(['a1', 'a2']);
    expect(list._meta.hostvars.a2.ansible_host).toBe(fleet.hosts[1]!.address);
    const ping = spawnSync('ansible', ['-i', script, 'all', '-m', 'ping', '-o'], { env, encoding: 'utf8', timeout: 120_000 });
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/a1 \| SUCCESS/);
    expect(ping.stdout).toMatch(/a2 \| SUCCESS/);
  });

  it('pyinfra runs a one-line deploy through pcc inventory --pyinfra', () => {
    const module = path.join(dir, 'inventory.py');
    const r = pcc(['--project', project, 'inventory', '--pyinfra', module], { HOME: home });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(module, 'utf8')).toMatch(/^first = \[/m);
    const marker = path.join(dir, 'pyinfra-was-here');
    const run = spawnSync('pyinfra', ['-y', module, 'exec', '--', `hostname -I >/dev/null 2>&1; touch ${marker}-$(whoami)`], {
      cwd: dir,
      env: { ...process.env, HOME: home },
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/a1/);
    expect(readFileSync(`${marker}-root`, 'utf8')).toBe('');
  });

  it('an encrypted key loaded in a real ssh-agent works for pcc exec', () => {
    const key = path.join(dir, 'encrypted_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-C', 'pcc-agent-test', '-f', key]);
    // The fleet's hosts share one authorized_keys file.
    writeFileSync(path.join(fleet.dir, 'authorized_keys'), readFileSync(`${key}.pub`), { flag: 'a' });
    const agent = execFileSync('ssh-agent', ['-s'], { encoding: 'utf8' });
    const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(agent)![1]!;
    const pid = Number(/SSH_AGENT_PID=(\d+);/.exec(agent)![1]);
    try {
      const askpass = path.join(dir, 'askpass');
      writeFileSync(askpass, '#!/bin/sh\necho "correct horse"\n');
      chmodSync(askpass, 0o755);
      execFileSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: sock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, stdio: 'pipe' });
      const other = path.join(dir, 'agent-project');
      mkdirSync(path.join(other, 'config'), { recursive: true });
      const h = fleet.hosts[0]!;
      expect(pcc(['--project', other, 'hosts', 'add', 'enc', `root@${h.address}:22`, '--key', key], { HOME: home }).code).toBe(0);
      const withAgent = pcc(['--project', other, 'exec', 'enc', '--', 'echo', 'via-agent'], { HOME: home, SSH_AUTH_SOCK: sock });
      expect(withAgent.stderr).toBe('');
      expect(withAgent.stdout).toBe('enc | via-agent\n');
      const without = pcc(['--project', other, 'exec', 'enc', '--', 'true'], { HOME: home, SSH_AUTH_SOCK: '' });
      expect(without.code).toBe(3);
      expect(without.stderr).toMatch(/is encrypted and no ssh-agent runs; load it with ssh-add/);
    } finally {
      process.kill(pid);
    }
  });
});
