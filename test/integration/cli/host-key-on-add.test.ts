import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/*
 * Issue 29, item 5: `pcc sync` and the printed `ssh NAME` failed on a static
 * host just added ("No ED25519 host key is known ... strict checking"),
 * because pcc learned host keys only on its own connections. Now `hosts add`
 * and `hosts import` learn the key at once (trust on first use) and say its
 * fingerprint. Real sshd hosts; h1 also offers RSA and ECDSA keys, so the key
 * pcc records must be the one the real OpenSSH client then asks for.
 */
let fleet: SshdFleet;
let dir: string;
let project: string;
let home: string;
const env = () => ({ HOME: home });
const p = (...args: string[]) => pcc(['--project', project, ...args], env());
const pccSshDir = () => path.join(home, '.ssh/config.d/pcc');

/** `ssh-keygen -l` of a public key file: `SHA256:...`. */
const fingerprint = (pub: string) => execFileSync('ssh-keygen', ['-l', '-f', pub], { encoding: 'utf8' }).split(' ')[1]!;

/** The `ssh ...` line of a `next:` hint, run as printed with a command after it. */
function runHint(stdout: string, command: string) {
  const hint = stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith('ssh '));
  expect(hint, stdout).toBeDefined();
  return spawnSync('bash', ['-c', `${hint} ${command}`], { encoding: 'utf8', env: { ...process.env, ...env() }, timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-hostkey-'));
  const extra = path.join(dir, 'extra-keys');
  mkdirSync(extra);
  for (const t of ['rsa', 'ecdsa']) execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-f', path.join(extra, `ssh_host_${t}_key`)]);
  fleet = await startSshdHosts(2, {
    prefix: 'k',
    config: { k1: [`HostKey ${path.join(extra, 'ssh_host_rsa_key')}`, `HostKey ${path.join(extra, 'ssh_host_ecdsa_key')}`] },
  });
  project = path.join(dir, 'project');
  home = path.join(dir, 'home');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  mkdirSync(home);
  mkdirSync(path.join(project, 'data'));
  writeFileSync(path.join(project, 'data/hello.txt'), 'synced at once\n');
});

afterAll(async () => {
  await fleet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hosts add and hosts import learn the host key at once (trust on first use)', () => {
  it('hosts add, then sync up and the printed ssh NAME with no other pcc command in between', () => {
    const h = fleet.hosts[0]!;
    const added = p('hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key);
    expect(added.code, added.stderr).toBe(0);
    const fp = fingerprint(path.join(h.dir, 'ssh_host_ed25519_key.pub'));
    expect(added.stdout).toContain(`host key of ${h.name}: ssh-ed25519 ${fp}, trusted on first use (recorded in pcc's known_hosts)`);
    expect(readFileSync(knownHostsFile(), 'utf8')).toContain(`${h.name} ${h.hostKey}`);

    const synced = p('sync', 'up', h.name, 'data', 'synced');
    expect(synced.code, synced.stderr + synced.stdout).toBe(0);
    expect(readFileSync(path.join(h.dir, 'root-home/synced/hello.txt'), 'utf8')).toBe('synced at once\n');

    const ssh = runHint(added.stdout, 'echo via-ssh');
    expect(ssh.status, ssh.stderr).toBe(0);
    expect(ssh.stdout.trim()).toBe('via-ssh');
  });

  it('hosts add of the same host again: the key is already known', () => {
    const h = fleet.hosts[0]!;
    const again = p('hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`host key of ${h.name}: ssh-ed25519 ${fingerprint(path.join(h.dir, 'ssh_host_ed25519_key.pub'))}, already known`);
  });

  it('a host that does not answer at add time is still added, saying its key is learned on the first connection; the hint is then pcc exec, not ssh', () => {
    const silent = `${fleet.hosts[0]!.address.split('.').slice(0, 3).join('.')}.250`;
    const added = p('hosts', 'add', 'k9', `root@${silent}:22`, '--key', fleet.key);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/host key of k9: not learned now \(k9: cannot connect to root@[\d.]+:22: ECONNREFUSED\); pcc's first connection to it learns it/);
    expect(added.stdout).not.toMatch(/^ {2}ssh /m);
    expect(added.stdout).toMatch(/exec k9 -- uptime/);
    expect(p('hosts', 'rm', 'k9').code).toBe(0);
    // --no-connect asks nothing (an inventory of machines this one cannot reach yet), and says the same.
    const h = fleet.hosts[1]!;
    const offline = p('hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key, '--no-connect');
    expect(offline.stdout).toContain(`host key of ${h.name}: not asked for (--no-connect); pcc's first connection to it learns it`);
    expect(p('hosts', 'rm', h.name).code).toBe(0);
  });

  it('hosts import learns every reachable host\'s key; sync and ssh then work on each', () => {
    const h = fleet.hosts[1]!;
    const inventory = path.join(dir, 'inventory.ini');
    writeFileSync(inventory, `[web]\n${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${fleet.key}\n`);
    const imported = p('hosts', 'import', inventory);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`host key of ${h.name}: ssh-ed25519 ${fingerprint(path.join(h.dir, 'ssh_host_ed25519_key.pub'))}, trusted on first use`);
    expect(p('sync', 'up', h.name, 'data', 'synced').code).toBe(0);
    expect(readFileSync(path.join(h.dir, 'root-home/synced/hello.txt'), 'utf8')).toBe('synced at once\n');
    const ssh = spawnSync('ssh', ['-F', path.join(home, '.ssh/config'), '-o', 'BatchMode=yes', h.name, 'echo via-ssh'], { encoding: 'utf8', env: { ...process.env, ...env() }, timeout: 20_000 });
    expect(ssh.status, ssh.stderr).toBe(0);
    expect(ssh.stdout.trim()).toBe('via-ssh');
  });

  it('a key that differs from the one pcc trusts for that name is not recorded: the add says so with the fix and exits 4', () => {
    const h = fleet.hosts[0]!;
    const file = knownHostsFile();
    const text = readFileSync(file, 'utf8');
    const other = readFileSync(path.join(fleet.hosts[1]!.dir, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(file, text.replace(new RegExp(`^${h.name} .*$`, 'm'), `${h.name} ${other}`));
    const added = p('hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key);
    expect(added.code).toBe(4);
    expect(added.stderr).toContain(`the host key of ${h.name} changed`);
    expect(added.stderr).toContain(`ssh-keygen -R ${h.name} -f ${file}`);
    expect(readFileSync(file, 'utf8')).toContain(`${h.name} ${other}`);
  });
});

/** This project's known_hosts: the one `<project>.known_hosts` in pcc's folder of this home. */
function knownHostsFile(): string {
  const found = readdirSync(pccSshDir()).filter((f) => f.endsWith('.known_hosts'));
  expect(found).toHaveLength(1);
  return path.join(pccSshDir(), found[0]!);
}
