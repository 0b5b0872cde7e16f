import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireOn, releaseOn } from '../../../src/fleet/lifecycle.js';
import { createVolume } from '../../../src/fleet/volumes.js';
import { parseSubnet } from '../../../src/network/ipv4.js';
import { bridgeName, cloudBridgeName, routerHomeAddress, routerName } from '../../../src/providers/local/network.js';
import type { ProviderContext } from '../../../src/providers/types.js';
import { readVm, vmFiles } from '../../../src/providers/vm/bookkeeping.js';
import { vmProvider, vmVolumeFile } from '../../../src/providers/vm/index.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { claimTestSubnet, localContext } from '../../fixtures/local-hosts.js';
import { linkList, netnsList, processAlive, ssh, writeKnownHosts } from '../../fixtures/local-machine.js';

/**
 * One real QEMU VM (software emulation here, a minute or two to boot) on the
 * project's home bridge, booted once for the whole file from the offline
 * image: its own kernel loads the modules this machine's kernel lacks, its
 * data disk shows up by serial, and release leaves nothing behind.
 */
describe('vm provider: a QEMU VM with its own kernel', () => {
  let dir: string;
  let ctx: ProviderContext;
  let claim: Awaited<ReturnType<typeof claimTestSubnet>>;
  let knownHosts: string;
  let vm: HostRecord;
  let serial: string;

  beforeAll(async () => {
    claim = await claimTestSubnet();
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-vm-test-'));
    mkdirSync(path.join(dir, 'project'));
    mkdirSync(path.join(dir, 'home'));
    knownHosts = path.join(dir, 'known_hosts');
    ctx = localContext({ projectDir: path.join(dir, 'project'), home: path.join(dir, 'home'), env: { LOCAL_SUBNET: claim.subnet } });
    // Attached before the VM exists, so its first boot has the disk (a later attach boots it again).
    serial = (await createVolume('data', { sizeGiB: 1, provider: 'vm' }, ctx)).providerId!;
    await ctx.state.update((s) => {
      s.volumes.data = { ...s.volumes.data!, attachedTo: 'vm1', mountPoint: '/data' };
    });
  });

  afterAll(async () => {
    await vmProvider.destroy(ctx).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    claim.release();
  });

  it('acquire boots a VM on the home bridge that the real ssh client reaches with the host key pcc made', { timeout: 900_000 }, async () => {
    const started = Date.now();
    const hosts = await acquireOn(vmProvider, { type: 'cpu', count: 1, wait: true }, ctx).then((r) => r.hosts);
    console.log(`vm1 answered on SSH ${Math.round((Date.now() - started) / 1000)} s after acquire began`);
    expect(hosts.map((h) => h.name)).toEqual(['vm1']);
    vm = hosts[0]!;
    expect(vm).toMatchObject({ provider: 'vm', site: 'home', groups: ['vm', 'cpu'], status: 'running' });
    // Counted down from below the router, clear of the local provider's hosts.
    const home = parseSubnet(claim.subnet, 'test');
    expect(vm.address).toBe(claim.subnet.replace(/\.0\/24$/, '.253'));
    writeKnownHosts(knownHosts, [vm]);
    expect(ssh(vm, 'hostname', knownHosts)).toBe('vm1');
    // Its default route is the project's NAT router, as for local home hosts.
    expect(ssh(vm, `ping -c 1 -W 5 ${routerHomeAddress(home)} >/dev/null && echo ok`, knownHosts)).toBe('ok');
  });

  it('its kernel is its own: the NFS client and ip_vs modules this machine lacks load', { timeout: 120_000 }, () => {
    expect(ssh(vm, 'uname -r', knownHosts)).not.toBe(release());
    expect(ssh(vm, 'modprobe nfs && modprobe ip_vs && modprobe wireguard && echo loaded', knownHosts)).toBe('loaded');
    // sshd answers before the rest of the boot is done: docker may still be starting, so it gets a minute to come up.
    const waited = 'for i in $(seq 60); do systemctl is-active -q docker && break; sleep 1; done; systemctl is-active systemd-udevd docker';
    expect(ssh(vm, waited, knownHosts).split('\n')).toEqual(['active', 'active']);
  });

  it('the data volume is a virtio disk that udev names by the volume id', () => {
    expect(ssh(vm, `readlink -f /dev/disk/by-id/virtio-${serial}`, knownHosts)).toMatch(/^\/dev\/vd[a-z]$/);
    expect(ssh(vm, `lsblk -dno SERIAL "$(readlink -f /dev/disk/by-id/virtio-${serial})"`, knownHosts)).toBe(serial);
  });

  it('release leaves no QEMU process, tap, disk, pid file or QMP socket; the volume stays', { timeout: 120_000 }, async () => {
    const m = readVm(await ctx.state.read())!.machines.vm1!;
    const files = vmFiles(m, `pcc-${ctx.project.id}-vm1`);
    expect(m.pid !== undefined && processAlive(m.pid)).toBe(true);
    expect(linkList()).toContain(m.tap);
    const r = await releaseOn(vmProvider, ['vm1'], ctx);
    expect(r.removed).toEqual([`VM vm1 (pid ${m.pid}, killed)`, `tap ${m.tap}`, `disk ${m.dir}`]);
    expect(processAlive(m.pid!)).toBe(false);
    expect(linkList()).not.toContain(m.tap);
    for (const f of [m.dir, files.pidFile, files.qmpSocket]) expect(existsSync(f), f).toBe(false);
    const state = await ctx.state.read();
    expect(state.hosts.vm1).toBeUndefined();
    expect(readVm(state)).toBeUndefined();
    expect(existsSync(vmVolumeFile(ctx, 'data'))).toBe(true);
  });

  it('destroy takes the bridges and router it made', async () => {
    await vmProvider.destroy(ctx);
    const links = linkList();
    expect(links).not.toContain(bridgeName(ctx.project.id));
    expect(links).not.toContain(cloudBridgeName(ctx.project.id));
    expect(netnsList()).not.toContain(routerName(ctx.project.id));
    const state = await ctx.state.read();
    expect(readVm(state)).toBeUndefined();
    expect(Object.values(state.hosts).filter((h) => h.provider === 'vm')).toEqual([]);
  });
});
