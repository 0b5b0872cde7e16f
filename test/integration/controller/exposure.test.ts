import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc, repoRoot } from '../../fixtures/cli.js';
import { claimTestSubnet, TEST_BASE_CACHE } from '../../fixtures/local-hosts.js';

/**
 * Who can reach the controller's services, on real nspawn hosts after
 * `pcc up --provider local`: the registry and the NFS export answer on the
 * overlay only, the export maps every user to the project's owner, and the
 * secrets in config/ are not part of it.
 */
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;
let claim: { subnet: string; release(): void };
let controller: { address: string; netns: string };
const OWNER = 1000;

const p = (...args: string[]) => pcc(['--project', project, ...args], env);
const onHost = (host: string, command: string) => p('exec', host, '--', command);
const nfsUrl = (address: string, file: string) => `nfs://${address}/project-export/${file}?version=4`;

beforeAll(async () => {
  claim = await claimTestSubnet();
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-exposure-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  cpSync(path.join(repoRoot, 'docker/999-mybusybox'), path.join(project, 'docker/999-mybusybox'), { recursive: true });
  writeFileSync(path.join(project, 'README.txt'), 'shared with every host\n');
  writeFileSync(path.join(project, 'config/local.env'), `LOCAL_SUBNET=${claim.subnet}\nLOCAL_BASE_CACHE=${TEST_BASE_CACHE}\n`);
  writeFileSync(path.join(project, 'config/.private'), 'AWS_SECRET_ACCESS_KEY=canary-secret-0123456789\n', { mode: 0o600 });
  // A project folder owned by an ordinary user, as on a laptop.
  chownSync(project, OWNER, OWNER);
  env = { HOME: path.join(dir, 'home') };
  mkdirSync(env.HOME!, { recursive: true });
  const up = p('up', '--provider', 'local');
  if (up.code !== 0) throw new Error(`pcc up failed (${up.code}): ${up.stderr}\n${up.stdout}`);
  const hosts = JSON.parse(p('--json', 'hosts').stdout) as { name: string; address: string; meta: { netns: string } }[];
  const init = hosts.find((h) => h.name === 'init')!;
  controller = { address: init.address, netns: init.meta.netns };
}, 600_000);

afterAll(() => {
  if (existsSync(project)) p('destroy', 'local', '--yes');
  rmSync(dir, { recursive: true, force: true });
  claim.release();
});

describe('the controller exposes the registry and the export to the overlay only (real nspawn hosts)', () => {
  it('the export read from outside the overlay (this machine, at the controller\'s LAN address) is refused', () => {
    const r = spawnSync('nfs-cat', [nfsUrl(controller.address, 'README.txt')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('shared with every host');
    // The same from a compute host, at the LAN address rather than the overlay one.
    const lan = onHost('local1', `nfs-cat '${nfsUrl(controller.address, 'README.txt')}'`);
    expect(lan.code).not.toBe(0);
    expect(lan.stdout).not.toContain('shared with every host');
  });

  it('the export read from a compute host over the overlay is allowed', () => {
    const r = onHost('local1', `nfs-cat '${nfsUrl('10.214.0.1', 'README.txt')}'`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('local1 | shared with every host');
  });

  it('config/.private is unreadable from either, and the controller itself does not see config/', () => {
    const overlay = onHost('local1', `nfs-cat '${nfsUrl('10.214.0.1', 'config/.private')}'`);
    expect(overlay.code).not.toBe(0);
    const outside = spawnSync('nfs-cat', [nfsUrl(controller.address, 'config/.private')], { encoding: 'utf8', timeout: 20_000 });
    expect(outside.status).not.toBe(0);
    for (const out of [overlay.stdout, outside.stdout]) expect(out).not.toContain('canary-secret');
    expect(onHost('init', 'ls -A /project-export/config /project-export/.pcc | grep -vc :').stdout.trim()).toBe('init | 1');
  });

  it('a file written over NFS by root on a compute host belongs to the project\'s owner, not root', () => {
    const r = onHost('local1', `echo from-local1 > /tmp/w && nfs-cp /tmp/w '${nfsUrl('10.214.0.1', 'written-by-local1')}'`);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const st = statSync(path.join(project, 'written-by-local1'));
    expect([st.uid, st.gid]).toEqual([OWNER, OWNER]);
  });

  it('ss -ltn inside the controller shows no service on its LAN address but sshd (WireGuard is UDP)', () => {
    const listening = (proto: '-ltnH' | '-lunH') =>
      execFileSync('ip', ['netns', 'exec', controller.netns, 'ss', proto], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[3]!);
    const tcp = listening('-ltnH');
    // Wildcard or LAN-address listeners are reachable from the LAN: only sshd may be one.
    const open = tcp.filter((a) => /^(0\.0\.0\.0|\*|\[::\]|\[::ffff:0\.0\.0\.0\]):/.test(a) || a.startsWith(`${controller.address}:`));
    expect(open.sort()).toEqual(['0.0.0.0:22', '[::]:22']);
    expect(tcp).toContain('10.214.0.1:5000');
    expect(tcp.some((a) => /10\.214\.0\.1\]?:2049$/.test(a))).toBe(true);
    const udp = listening('-lunH').filter((a) => /^(0\.0\.0\.0|\*|\[::\]):/.test(a) || a.startsWith(`${controller.address}:`));
    // WireGuard, and the kernel's VXLAN socket for swarm's data path (4789): a kernel socket, bound by the kernel to every address.
    expect([...new Set(udp.map((a) => a.replace(/^.*:/, '')))].sort()).toEqual(['4789', '51820']);
  });

  it('pcc build from this machine still pushes to the registry, through an SSH tunnel to the controller', () => {
    const r = p('build', '--builder', 'buildah', '--force');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('10.214.0.1:5000 via buildah: 1 built');
    expect(r.stderr).toMatch(/pushing 127\.0\.0\.1:\d+\/mybusybox:latest/);
    const pull = onHost('local1', 'docker pull -q "$REGISTRY_HOST/mybusybox" >/dev/null && docker run --rm "$REGISTRY_HOST/mybusybox" echo pulled');
    expect(pull.stdout).toContain('local1 | pulled');
  });
});
