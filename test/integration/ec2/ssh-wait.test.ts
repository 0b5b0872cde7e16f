import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tmuxServer, until as untilFixture } from '../../fixtures/tmux.js';
import { SSH_WAIT_CPU_S, SSH_WAIT_GPU_S, sshWaitSeconds } from '../../../src/providers/ec2/boot-wait.js';
import { repoRoot } from '../../fixtures/cli.js';
import { makeProject, REGION, TEST_CIDR, type TestProject } from '../../fixtures/ec2.js';
import { MOTO_ACCOUNT_ID } from '../../fixtures/moto.js';

/*
 * Item 2 of issue 30: EC2 hosts get an SSH wait that fits the image
 * (EC2_SSH_WAIT_S), pcc polls quietly and says what it still waits for, and a
 * wait that runs out is marked failed, never ✔.
 *
 * moto's instances have made-up public addresses that nothing answers on. So
 * that waiting on them sends nothing off this machine, moto and pcc both run
 * inside a network namespace this test makes, with only its loopback up:
 * there every connection to such an address fails at once (no route), and
 * pcc keeps trying until EC2_SSH_WAIT_S is over.
 */

const ns = `pcc-sshwait-${process.pid}`;
const port = 4566;
const endpoint = `http://127.0.0.1:${port}`;
/** One of moto's built-in x86_64 images, so nothing needs seeding from outside the namespace. */
const MOTO_AMI = 'ami-12c6146b';
const bin = path.join(repoRoot, 'bin/pcc.js');
const { tmux, kill: killTmux } = tmuxServer('ssh-wait');
let moto: ChildProcess;
let t: TestProject;

const motoEnv = {
  AWS_ENDPOINT_URL_EC2: endpoint,
  AWS_ENDPOINT_URL_SSM: endpoint,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/pcc-test-aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/pcc-test-aws-credentials',
};

const until = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000) => untilFixture(what, probe, timeoutMs, 200);

beforeAll(async () => {
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  moto = spawn('ip', ['netns', 'exec', ns, 'moto_server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await until('moto in the namespace', () => spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sf', '-o', '/dev/null', `${endpoint}/moto-api/`]).status === 0, 60_000);
  t = makeProject('sshwait');
  t.writeEnv({ EC2_REGION: REGION, EC2_AMI_OWNER: MOTO_ACCOUNT_ID, EC2_SSH_CIDR: TEST_CIDR, EC2_AMI: MOTO_AMI, PCC_SSH_KEY: '~/.ssh/id_ed25519', EC2_SSH_WAIT_S: '6' });
  t.writeConfig('pcc.env', { PCC_CONNECT_TIMEOUT_MS: '1000' });
}, 120_000);

afterAll(async () => {
  killTmux();
  if (moto?.pid) {
    moto.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
  }
  // moto_server runs below `ip netns exec`; whatever is left in the namespace goes with it.
  for (const pid of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', ns]);
  t?.cleanup();
});

const inNamespace = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync('ip', ['netns', 'exec', ns, 'node', bin, '--project', t.project.root, ...args], {
    env: { ...process.env, ...motoEnv, ...extra, HOME: t.project.home },
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('item 2: the SSH wait fits the image, polls quietly, and a wait that runs out is marked failed (moto in a namespace of its own)', () => {
  test('the defaults: 600 s for a GPU host, 300 s for a CPU host; EC2_SSH_WAIT_S wins for both', () => {
    expect([SSH_WAIT_GPU_S, SSH_WAIT_CPU_S]).toEqual([600, 300]);
    expect(sshWaitSeconds({ groups: ['ec2', 'gpu', 'g5.xlarge'] }, undefined)).toBe(600);
    expect(sshWaitSeconds({ groups: ['ec2', 'cpu', 'c6i.xlarge'] }, undefined)).toBe(300);
    expect(sshWaitSeconds({ groups: ['ec2', 'gpu', 'g5.xlarge'] }, 45)).toBe(45);
  });

  test('EC2_SSH_WAIT_S=6 is the wait: pcc tries for 6 s, says once what it waits for, then fails the host with the setting to raise (exit 4)', () => {
    const started = Date.now();
    const r = inNamespace(['acquire', 'ec2']);
    const took = Date.now() - started;
    expect(r.status, r.stderr).toBe(4);
    const address = /cpu1 \| booting: waiting for sshd on ([\d.]+):22/.exec(r.stderr)?.[1];
    expect(address, r.stderr).toBeDefined();
    // Polled quietly: one line for as long as the reason stays the same, however many tries.
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cpu1 | booting:'))).toEqual([`cpu1 | booting: waiting for sshd on ${address}:22 (up to 6 s; no answer yet)`]);
    expect(r.stderr).toMatch(
      new RegExp(`cpu1 \\| ssh not ready: no answer on ${address!.replaceAll('.', '\\.')}:22 in the 6 s a boot may take \\(.*ENETUNREACH\\); raise EC2_SSH_WAIT_S \\(config/ec2\\.env\\) if the instance needs longer`),
    );
    // The whole 6 s, and not the connection's own retries alone.
    expect(took).toBeGreaterThanOrEqual(6_000);
    expect(took).toBeLessThan(40_000);
  });

  test('on a terminal the host whose wait ran out gets ✖, never ✔', async () => {
    const rc = path.join(t.base, 'tmux.rc');
    const vars = Object.entries({ ...motoEnv, HOME: t.project.home, EC2_SSH_WAIT_S: '3' })
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    // A person at a terminal: CI (set when the suite runs in CI) would switch the live view off.
    const line = `ip netns exec ${ns} env -u CI ${vars} TERM=xterm-256color node ${bin} --project ${t.project.root} acquire ec2; echo $? > ${rc}; sleep 600`;
    tmux('new-session', '-d', '-s', 'wait', '-x', '220', '-y', '30', 'bash', '--norc', '-c', line);
    await until('pcc to exit', () => existsSync(rc) && readFileSync(rc, 'utf8').trim() !== '', 60_000);
    const screen = tmux('capture-pane', '-p', '-J', '-t', 'wait');
    expect(readFileSync(rc, 'utf8').trim(), screen).toBe('4');
    expect(screen).toMatch(/✖ cpu1\s+ssh not ready: no answer on [\d.]+:22 in the 3 s a boot may take .*; raise EC2_SSH_WAIT_S \(the environment\)/);
    expect(screen).not.toMatch(/✔ cpu1/);
  });
});
