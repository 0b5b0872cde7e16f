import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocal } from '../../../src/providers/local/bookkeeping.js';
import { localProvider } from '../../../src/providers/local/index.js';
import { bridgeName } from '../../../src/providers/local/network.js';
import type { ProviderContext } from '../../../src/providers/types.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { claimTestSubnet, localContext } from '../../fixtures/local-hosts.js';
import { linkList, mountPoints, netnsList, processAlive, ssh, writeKnownHosts } from '../../fixtures/local-machine.js';
import { acquireOn, releaseOn, resumeOn, saveOn } from '../../../src/fleet/lifecycle.js';

/**
 * The local provider end to end on real systemd-nspawn hosts: acquire, save,
 * resume, grow, destroy. The steps share hosts and run in order.
 */
describe('local provider on real nspawn hosts', () => {
  let dir: string;
  let ctx: ProviderContext;
  let claim: Awaited<ReturnType<typeof claimTestSubnet>>;
  let knownHosts: string;
  let first: HostRecord[];
  const ipForward = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const forwardBefore = ipForward();
  const readBridge = () => bridgeName(ctx.project.id);

  beforeAll(async () => {
    claim = await claimTestSubnet();
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-local-test-'));
    mkdirSync(path.join(dir, 'project'));
    mkdirSync(path.join(dir, 'home'));
    knownHosts = path.join(dir, 'known_hosts');
    ctx = localContext({ projectDir: path.join(dir, 'project'), home: path.join(dir, 'home'), env: { LOCAL_SUBNET: claim.subnet } });
  });

  afterAll(async () => {
    await localProvider.destroy(ctx).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    claim.release();
  });

  it('--dry plans without creating anything', async () => {
    const lines: string[] = [];
    const dry = { ...ctx, dry: true, progress: { host: (n: string, m: string) => lines.push(`${n} ${m}`), note() {}, warn() {} } };
    expect(await acquireOn(localProvider, { type: 'cpu', count: 2, wait: true }, dry).then((r) => r.hosts)).toEqual([]);
    const prefix = claim.subnet.replace(/0\/24$/, '');
    expect(lines).toEqual([
      `local1 would create at ${prefix}2 on the home segment (bridge ${readBridge()})`,
      `local2 would create at ${prefix}3 on the home segment (bridge ${readBridge()})`,
    ]);
    // Only the project id, made at first use.
    expect(readdirSync(ctx.project.stateDir)).toEqual(['project-id']);
  });

  it('acquire 2: booted hosts that the real ssh client reaches with the recorded host keys', { timeout: 600_000 }, async () => {
    first = await acquireOn(localProvider, { type: 'cpu', count: 2, wait: true }, ctx).then((r) => r.hosts);
    expect(first.map((h) => h.name).sort()).toEqual(['local1', 'local2']);
    const prefix = claim.subnet.replace(/0\/24$/, '');
    for (const h of first) {
      expect(h).toMatchObject({ port: 22, user: 'root', provider: 'local', groups: ['local', 'cpu'], providerId: h.name, status: 'running' });
      expect(h.address.startsWith(prefix)).toBe(true);
      expect(h.hostKey).toMatch(/^ssh-ed25519 AAAA\S+$/);
      // No PCC_SSH_KEY and no ~/.ssh key in the temp home: the project key.
      expect(h.key).toBe(path.join(ctx.project.stateDir, 'ssh', 'id_ed25519'));
    }
    writeKnownHosts(knownHosts, first);
    expect(ssh(first[0]!, 'hostname', knownHosts)).toBe(first[0]!.name);
    expect(ssh(first[1]!, 'hostname', knownHosts)).toBe(first[1]!.name);

    // Hosts reach each other; their one way out is the home segment's NAT router.
    expect(ssh(first[0]!, `ping -c1 -W2 ${first[1]!.address} >/dev/null && echo ok`, knownHosts)).toBe('ok');
    expect(ssh(first[0]!, 'ip route show default', knownHosts)).toMatch(/^default via \S+ dev host0/);
    expect(ipForward()).toBe(forwardBefore);

    // Each machine has its own cgroup in every hierarchy.
    const local = readLocal(await ctx.state.read())!;
    const [a, b] = Object.values(local.machines).map((m) => readFileSync(`/proc/${m.pid}/cgroup`, 'utf8'));
    for (const cg of [a!, b!]) expect(cg.split('\n').filter((l) => l && !l.includes(`/pcc-${ctx.project.id}-local`))).toEqual([]);
    expect(a).not.toBe(b);

    const statuses = await localProvider.status(ctx);
    expect(statuses.map((s) => [s.name, s.state, s.groups])).toEqual([
      ['local1', 'running', ['local', 'cpu']],
      ['local2', 'running', ['local', 'cpu']],
    ]);
    for (const s of statuses) expect(Date.parse(s.since!)).toBeLessThanOrEqual(Date.now());
  });

  it('save, then resume: the same hosts come back with their files', async () => {
    ssh(first[0]!, 'echo kept > /root/marker && docker info --format "{{.ServerVersion}}" > /root/docker-version', knownHosts);
    const pids = Object.values(readLocal(await ctx.state.read())!.machines).map((m) => m.pid!);

    const saved = await saveOn(localProvider, {}, ctx).then((r) => r.hosts);
    expect(saved.map((h) => [h.name, h.status])).toEqual([
      ['local1', 'saved'],
      ['local2', 'saved'],
    ]);
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    // The hosts' namespaces go; the router stays with the bridges, holding the project's subnets.
    expect(netnsList().filter((n) => n.startsWith(`pcc-${ctx.project.id}-`))).toEqual([`pcc-${ctx.project.id}-router`]);
    expect(existsSync(path.join(ctx.project.stateDir, 'local', 'local1', 'upper', 'root', 'marker'))).toBe(true);
    expect((await localProvider.status(ctx)).map((s) => s.state)).toEqual(['saved', 'saved']);

    const again = await resumeOn(localProvider, ctx).then((r) => r.hosts);
    expect(again.map((h) => [h.name, h.address, h.hostKey, h.status])).toEqual(
      first.map((h) => [h.name, h.address, h.hostKey, 'running']),
    );
    // StrictHostKeyChecking against the first known_hosts: same keys.
    expect(ssh(again[0]!, 'cat /root/marker', knownHosts)).toBe('kept');
    expect(ssh(again[0]!, 'cat /root/docker-version', knownHosts)).toMatch(/^\d+\./);
  });

  it('--count beyond the existing hosts adds new ones and leaves the running ones alone', async () => {
    const before = readLocal(await ctx.state.read())!.machines;
    const hosts = await acquireOn(localProvider, { type: 'cpu', count: 3, wait: true }, ctx).then((r) => r.hosts);
    expect(hosts.map((h) => h.name).sort()).toEqual(['local1', 'local2', 'local3']);
    const after = readLocal(await ctx.state.read())!.machines;
    expect(after.local1!.pid).toBe(before.local1!.pid);
    expect(after.local2!.pid).toBe(before.local2!.pid);
    const local3 = hosts.find((h) => h.name === 'local3')!;
    writeKnownHosts(knownHosts, hosts);
    expect(ssh(local3, 'hostname', knownHosts)).toBe('local3');
  });

  it('a host whose nspawn was killed shows as stopped, and resume boots it again (its orphans killed first)', async () => {
    const before = readLocal(await ctx.state.read())!.machines.local2!;
    const oldInit = Number(readFileSync(`/proc/${before.pid}/task/${before.pid}/children`, 'utf8').trim());
    process.kill(before.pid!, 'SIGKILL');
    for (let i = 0; i < 100 && processAlive(before.pid!); i++) await new Promise((r) => setTimeout(r, 20));
    expect((await localProvider.status(ctx)).find((s) => s.name === 'local2')!.state).toBe('stopped');

    const hosts = await resumeOn(localProvider, ctx).then((r) => r.hosts);
    expect(hosts.map((h) => h.name)).toEqual(['local2']);
    const after = readLocal(await ctx.state.read())!.machines.local2!;
    expect(after.pid).not.toBe(before.pid);
    // The old host's systemd outlived its nspawn (as an orphan) until acquire killed it.
    expect(oldInit).toBeGreaterThan(1);
    expect(processAlive(oldInit)).toBe(false);
    expect(ssh(hosts.find((h) => h.name === 'local2')!, 'cat /proc/1/comm', knownHosts)).toBe('systemd');
  });

  it('ten save/resume cycles keep the host count (resume never creates)', { timeout: 600_000 }, async () => {
    for (let i = 0; i < 10; i++) {
      await saveOn(localProvider, {}, ctx);
      const back = await resumeOn(localProvider, ctx);
      expect(back.plan).toEqual([{ op: 'start', hosts: ['local1', 'local2', 'local3'] }]);
    }
    expect(Object.keys((await ctx.state.read()).hosts).sort()).toEqual(['local1', 'local2', 'local3']);
    expect((await localProvider.list(ctx)).map((h) => h.state)).toEqual(['running', 'running', 'running']);
  });

  it('release one of three: its machine, disk and record go, the other two keep running', async () => {
    const before = readLocal(await ctx.state.read())!.machines;
    const r = await releaseOn(localProvider, ['local2'], ctx);
    expect(r.plan).toEqual([{ op: 'terminate', hosts: ['local2'] }]);
    const after = readLocal(await ctx.state.read())!.machines;
    expect(Object.keys(after).sort()).toEqual(['local1', 'local3']);
    expect(after.local1!.pid).toBe(before.local1!.pid);
    expect(netnsList()).not.toContain(before.local2!.netns);
    expect(existsSync(before.local2!.dir)).toBe(false);
    // --count 3 again makes exactly the missing one.
    const again = await acquireOn(localProvider, { type: 'cpu', count: 3, wait: true }, ctx);
    expect(again.plan).toEqual([{ op: 'create', spec: 'cpu:home', label: 'cpu (systemd-nspawn, home segment)', count: 1 }]);
    expect(again.hosts.map((h) => h.name).sort()).toEqual(['local1', 'local2', 'local3']);
  });

  it('destroy leaves no namespace, link, mount, process, cgroup or file behind', async () => {
    const local = readLocal(await ctx.state.read())!;
    const machines = Object.values(local.machines);
    expect(machines).toHaveLength(3);
    expect(linkList()).toContain(local.bridge);

    // One host dies hard first: destroy must still find its orphaned systemd and nspawn's leftover locks.
    const local3 = local.machines.local3!;
    const orphan = Number(readFileSync(`/proc/${local3.pid}/task/${local3.pid}/children`, 'utf8').trim());
    const rootInode = statSync(local3.root);
    const inodeLock = `/run/systemd/nspawn/locks/inode-${rootInode.dev}:${rootInode.ino}`;
    expect(existsSync(inodeLock)).toBe(true);
    process.kill(local3.pid!, 'SIGKILL');

    const report = await localProvider.destroy(ctx);
    expect(processAlive(orphan)).toBe(false);
    expect(existsSync(inodeLock)).toBe(false);
    expect(report.removed).toContain(`bridge ${local.bridge}`);
    for (const name of ['local1', 'local2']) expect(report.removed.join('\n')).toContain(`machine ${name} (pid`);
    expect(report.removed.join('\n')).toMatch(/\d+ leftover processes of local3/);

    const namespaces = netnsList();
    const links = linkList();
    const mounts = mountPoints();
    for (const m of machines) {
      expect(namespaces).not.toContain(m.netns);
      expect(links).not.toContain(m.veth);
      expect(processAlive(m.pid!)).toBe(false);
      expect(mounts.filter((p) => p.startsWith(m.root) || p.startsWith(m.dir))).toEqual([]);
      for (const cg of m.cgroups) expect(existsSync(cg)).toBe(false);
      // nspawn's image lock, which the killed one left behind.
      expect(existsSync(path.join(path.dirname(m.root), `.#${path.basename(m.root)}.lck`))).toBe(false);
    }
    expect(links).not.toContain(local.bridge);
    expect(mounts.filter((p) => p.startsWith(dir))).toEqual([]);
    expect(existsSync(path.join(ctx.project.stateDir, 'local'))).toBe(false);
    expect(readdirSync(ctx.project.stateDir).sort()).toEqual(['project-id', 'ssh', 'state.json']);
    const state = await ctx.state.read();
    expect(state.hosts).toEqual({});
    expect(state.providers.local).toBeUndefined();
    expect(await localProvider.status(ctx)).toEqual([]);
  });
});
