import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject, type Project } from '../../../src/core/project.js';
import {
  checkHostKey,
  knownHostsFile,
  recordHostKey,
  removeProviderAliases,
  writeProviderAliases,
} from '../../../src/sshconfig/index.js';
import { startSshdHosts, type SshdFleet, type SshdHost } from '../../fixtures/sshd.js';
import { host, keygen, snapshot } from '../../fixtures/sshconfig.js';

/**
 * The real OpenSSH client against a real loopback sshd, through nothing but
 * the aliases: `ssh -F <home>/.ssh/config cpu-local1`. The home's path has a
 * space and a `%`, which the generated entries must quote and escape.
 */
let fleet: SshdFleet;
let sshd: SshdHost;
let dir: string;
let project: Project;
const restarted: ChildProcess[] = [];

beforeAll(async () => {
  fleet = await startSshdHosts(1, { prefix: 'local' });
  sshd = fleet.hosts[0]!;
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-sshconfig-connect-'));
  project = openProject({ project: path.join(dir, 'proj'), home: path.join(dir, 'my home 100%') });
  mkdirSync(project.sshDir, { recursive: true, mode: 0o700 });
  copyFileSync(fleet.key, path.join(project.sshDir, 'id 100%'));
});

afterAll(async () => {
  for (const p of restarted) if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGKILL');
  await fleet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function record(name: string, hostKey?: string) {
  return host(name, {
    address: sshd.address,
    port: sshd.port,
    user: 'root',
    key: '~/.ssh/id 100%',
    ...(hostKey ? { hostKey } : {}),
    meta: {},
  });
}

function ssh(alias: string, command: string) {
  return spawnSync(
    'ssh',
    ['-F', path.join(project.sshDir, 'config'), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', alias, command],
    { encoding: 'utf8', env: { ...process.env, HOME: project.home }, timeout: 20_000 },
  );
}

/** Brings the sshd back on its address with a new host key, as a rebuilt host would. */
async function rebuildHostKey(): Promise<string> {
  fleet.kill(sshd.name);
  rmSync(path.join(sshd.dir, 'ssh_host_ed25519_key'), { force: true });
  rmSync(path.join(sshd.dir, 'ssh_host_ed25519_key.pub'), { force: true });
  const fresh = keygen(sshd.dir, 'ssh_host_ed25519_key');
  await new Promise((r) => setTimeout(r, 100));
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(sshd.dir, 'sshd_config')], { stdio: 'ignore' });
  restarted.push(proc);
  await waitForBanner(sshd.address, sshd.port);
  return fresh.line;
}

function waitForBanner(address: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ host: address, port });
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd on ${address} did not come back`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

describe('ssh through pcc aliases', () => {
  it('reaches the host by every alias, with the key the provider reported and strict checking', async () => {
    const written = await writeProviderAliases(project, 'local', [record('local1', sshd.hostKey)]);
    expect(written.aliases).toEqual(['local1', 'local-local1', 'cpu-local1']);
    for (const alias of written.aliases) {
      const r = ssh(alias, 'hostname');
      expect(r.stderr).toBe('');
      expect(r.status, alias).toBe(0);
      expect(r.stdout.trim()).toBe(execFileSync('hostname', { encoding: 'utf8' }).trim());
    }
  });

  it('refuses a host whose key pcc has not recorded, until pcc records it', async () => {
    await writeProviderAliases(project, 'local', [record('local1', sshd.hostKey), record('local2')]);
    const r = ssh('cpu-local2', 'true');
    expect(r.status).toBe(255);
    expect(r.stderr).toContain('No ED25519 host key is known for local2 and you have requested strict checking');
    expect(await recordHostKey(project, 'local2', sshd.hostKey)).toBe('new');
    expect(ssh('cpu-local2', 'true').status).toBe(0);
  });

  it('refuses a changed host key with OpenSSH message, keyed by host name and not by address', async () => {
    const fresh = await rebuildHostKey();
    const r = ssh('cpu-local1', 'hostname');
    expect(r.status).toBe(255);
    expect(r.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(r.stderr).toContain(`Offending ED25519 key in ${knownHostsFile(project)}:1`);
    expect(r.stderr).toContain('Host key for local1 has changed and you have requested strict checking');
    const [type, b64] = fresh.split(' ') as [string, string];
    expect(await checkHostKey(project, 'local1', type, b64)).toBe('changed');
    await expect(recordHostKey(project, 'local1', fresh)).rejects.toThrow(
      `ssh-keygen -R local1 -f ${knownHostsFile(project)}`,
    );

    // A new host at the same address is judged by its own name: the old host's key does not stand in its way.
    await writeProviderAliases(project, 'local', [record('local1', sshd.hostKey), record('local3', fresh)]);
    expect(ssh('cpu-local3', 'true').status).toBe(0);
    expect(ssh('cpu-local1', 'true').status).toBe(255);

    // Following pcc's advice clears the stale entry; the next first use trusts the new key.
    execFileSync('ssh-keygen', ['-R', 'local1', '-f', knownHostsFile(project)], { stdio: 'ignore' });
    await recordHostKey(project, 'local1', fresh);
    expect(ssh('cpu-local1', 'true').status).toBe(0);
  });

  it('leaves nothing of pcc behind once the provider is removed', async () => {
    await removeProviderAliases(project, 'local');
    const [type, b64] = sshd.hostKey.split(' ') as [string, string];
    expect(await checkHostKey(project, 'local2', type, b64)).toBe('new');
    // pcc created ~/.ssh/config, so it goes; the key the test put there stays.
    expect(snapshot(project.home)).toEqual({ '.ssh': 'dir 700', '.ssh/id 100%': expect.stringMatching(/^file 600 /) });
  });
});
