import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  // The LAN namespace first: its veth sits on the project's bridge.
  spawnSync('ip', ['netns', 'del', LAN_NS]);
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

/*
 * A machine on the user's LAN (a namespace this test makes, on the home
 * bridge next to the controller) that routes the overlay subnet through a pcc
 * host's LAN address, as any neighbour could. Every pcc host forwards, so
 * without the overlay guard the registry answered it (200 on the catalog, 202
 * on a blob upload).
 */
const LAN_NS = `pcc-test-lan-${process.pid}`;
const LAN_VETH = `pcclan${process.pid % 100000}`;
const REGISTRY = 'http://10.214.0.1:5000';
const inLan = (script: string) => spawnSync('ip', ['netns', 'exec', LAN_NS, 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
/** What a client gets: an HTTP code, or 000 when nothing answered within 3 s. */
const httpFromLan = (args: string) => inLan(`curl -s -o /dev/null -w '%{http_code}' --max-time 3 ${args}`).stdout.trim();
const tcpFromLan = (address: string, port: number) => inLan(`timeout 3 bash -c '</dev/tcp/${address}/${port}' 2>/dev/null && echo open || echo closed`).stdout.trim();
const guardRulesOn = (host: string) =>
  execFileSync('ip', ['netns', 'exec', netnsOf(host), 'iptables', '-t', 'raw', '-S'], { encoding: 'utf8' });
const netnsOf = (host: string) =>
  (JSON.parse(p('--json', 'hosts').stdout) as { name: string; meta: { netns: string } }[]).find((h) => h.name === host)!.meta.netns;
const addressOf = (host: string) => (JSON.parse(p('--json', 'hosts').stdout) as { name: string; address: string }[]).find((h) => h.name === host)!.address;

describe('the overlay guard: a LAN neighbour that routes the overlay through a pcc host reaches none of it (real nspawn hosts)', () => {
  beforeAll(() => {
    const state = JSON.parse(readFileSync(path.join(project, '.pcc/state.json'), 'utf8')) as { providers: { local: { bridge: string } } };
    const [a, b, c] = claim.subnet.split('/')[0]!.split('.');
    const address = `${a}.${b}.${c}.200`;
    for (const argv of [
      ['netns', 'add', LAN_NS],
      ['link', 'add', LAN_VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', LAN_NS],
      ['link', 'set', LAN_VETH, 'master', state.providers.local.bridge, 'up'],
      ['-n', LAN_NS, 'link', 'set', 'lo', 'up'],
      ['-n', LAN_NS, 'addr', 'add', `${address}/24`, 'dev', 'eth0'],
      ['-n', LAN_NS, 'link', 'set', 'eth0', 'up'],
      ['-n', LAN_NS, 'route', 'add', '10.214.0.0/24', 'via', controller.address],
    ]) {
      execFileSync('ip', argv);
    }
  });

  it('routed through the controller: the catalog, a blob upload and TCP 2049 are all refused, though the controller itself answers', () => {
    // The neighbour does reach the controller (sshd on its LAN address): what follows is the guard, not a broken route.
    expect(tcpFromLan(controller.address, 22)).toBe('open');
    expect(httpFromLan(`${REGISTRY}/v2/_catalog`)).toBe('000');
    expect(httpFromLan(`-X POST ${REGISTRY}/v2/intruder/blobs/uploads/`)).toBe('000');
    expect(tcpFromLan('10.214.0.1', 2049)).toBe('closed');
    // Nor through the controller to a compute host's overlay address (sshd listens on every address there).
    const local1 = (JSON.parse(p('--json', 'hosts').stdout) as { name: string; overlayAddress: string }[]).find((h) => h.name === 'local1')!;
    expect(tcpFromLan(local1.overlayAddress, 22)).toBe('closed');
  });

  it('routed through a compute host, which forwards too: refused', () => {
    const local1 = addressOf('local1');
    execFileSync('ip', ['-n', LAN_NS, 'route', 'replace', '10.214.0.0/24', 'via', local1]);
    try {
      expect(tcpFromLan(local1, 22)).toBe('open');
      expect(httpFromLan(`${REGISTRY}/v2/_catalog`)).toBe('000');
      expect(tcpFromLan('10.214.0.1', 2049)).toBe('closed');
    } finally {
      execFileSync('ip', ['-n', LAN_NS, 'route', 'replace', '10.214.0.0/24', 'via', controller.address]);
    }
  });

  it('from a compute host over the overlay: the catalog answers 200, a blob upload 202, TCP 2049 connects', () => {
    const code = (args: string) => `$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 ${args})`;
    const r = onHost(
      'local1',
      `echo catalog ${code(`${REGISTRY}/v2/_catalog`)}; echo upload ${code(`-X POST ${REGISTRY}/v2/from-local1/blobs/uploads/`)}; timeout 3 bash -c '</dev/tcp/10.214.0.1/2049' && echo nfs open`,
    );
    expect(r.stdout).toContain('local1 | catalog 200');
    expect(r.stdout).toContain('local1 | upload 202');
    expect(r.stdout).toContain('local1 | nfs open');
  });

  it('setup finds rules removed by hand and puts them back; the boot unit applies the same rules', () => {
    const wanted = guardRulesOn('init');
    expect(wanted).toContain('-A PREROUTING -d 10.214.0.0/24 -j PCC-OVERLAY');
    expect(wanted).toContain('-A PCC-OVERLAY -i pcc0 -j RETURN');
    // Drift: the chain emptied and the subnet's jump gone.
    onHost('init', 'iptables -t raw -F PCC-OVERLAY && iptables -t raw -D PREROUTING -d 10.214.0.0/24 -j PCC-OVERLAY');
    expect(httpFromLan(`${REGISTRY}/v2/_catalog`)).toBe('200');
    const setup = JSON.parse(p('--json', 'setup', 'init').stdout) as { hosts: { host: string; ops: { name: string; status: string }[] }[] };
    // setup init also refreshes the overlay of every other member (local1), whose guard was left alone.
    const opsOn = (host: string) => setup.hosts.find((h) => h.host === host)!.ops.filter((o) => o.name.startsWith('overlay guard'));
    expect(opsOn('init').map((o) => o.status)).toEqual(['changed']);
    expect(opsOn('local1').map((o) => o.status)).toEqual(['ok']);
    expect(guardRulesOn('init')).toBe(wanted);
    expect(httpFromLan(`${REGISTRY}/v2/_catalog`)).toBe('000');
    // And again without setup: what the unit runs at boot, before wg-quick@pcc0 and the services on its address.
    onHost('init', 'iptables -t raw -F PCC-OVERLAY && iptables -t raw -D PREROUTING -d 10.214.0.0/24 -j PCC-OVERLAY');
    const unit = onHost('init', 'systemctl is-enabled pcc-overlay-guard.service && systemctl restart pcc-overlay-guard.service && echo restarted');
    expect(unit.stdout).toContain('init | enabled');
    expect(unit.stdout).toContain('init | restarted');
    expect(guardRulesOn('init')).toBe(wanted);
    expect(guardRulesOn('local1')).toBe(wanted);
  });
});
