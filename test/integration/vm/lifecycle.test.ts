import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireOn, resumeOn, saveOn } from '../../../src/fleet/lifecycle.js';
import { bridgeName, cloudBridgeName, routerName } from '../../../src/providers/local/network.js';
import type { ProviderContext } from '../../../src/providers/types.js';
import { readVm, vmFiles, type Vm } from '../../../src/providers/vm/bookkeeping.js';
import { vmProvider } from '../../../src/providers/vm/index.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { claimTestSubnet, localContext } from '../../fixtures/local-hosts.js';
import { linkList, netnsList, processAlive, ssh, writeKnownHosts } from '../../fixtures/local-machine.js';

/**
 * The vm provider's save and resume on one real QEMU VM: save powers the
 * guest off through its ACPI button and keeps its disk, resume boots the same
 * disk again, destroy leaves nothing. Two boots under software emulation.
 */
describe('vm provider: save, resume, destroy', () => {
  let dir: string;
  let ctx: ProviderContext;
  let claim: Awaited<ReturnType<typeof claimTestSubnet>>;
  let knownHosts: string;
  let vm: HostRecord;
  let m: Vm;
  const qemuId = () => `pcc-${ctx.project.id}-vm1`;

  beforeAll(async () => {
    claim = await claimTestSubnet();
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-vm-life-'));
    mkdirSync(path.join(dir, 'project'));
    mkdirSync(path.join(dir, 'home'));
    knownHosts = path.join(dir, 'known_hosts');
    ctx = localContext({ projectDir: path.join(dir, 'project'), home: path.join(dir, 'home'), env: { LOCAL_SUBNET: claim.subnet } });
  });

  afterAll(async () => {
    await vmProvider.destroy(ctx).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    claim.release();
  });

  it('acquire boots a VM; a file written on it is on its own disk', { timeout: 900_000 }, async () => {
    vm = (await acquireOn(vmProvider, { type: 'cpu', count: 1, wait: true }, ctx)).hosts[0]!;
    writeKnownHosts(knownHosts, [vm]);
    ssh(vm, 'echo kept > /root/kept.txt && sync', knownHosts);
    m = readVm(await ctx.state.read())!.machines.vm1!;
  });

  it('save powers it off and keeps its disk: no QEMU, tap, pid file or socket', { timeout: 300_000 }, async () => {
    const files = vmFiles(m, qemuId());
    const began = Date.now();
    const { plan } = await saveOn(vmProvider, {}, ctx);
    console.log(`vm1 powered off ${Math.round((Date.now() - began) / 1000)} s after save began`);
    expect(plan).toEqual([{ op: 'stop', hosts: ['vm1'] }]);
    expect(processAlive(m.pid!)).toBe(false);
    expect(linkList()).not.toContain(m.tap);
    expect(existsSync(files.pidFile) || existsSync(files.qmpSocket)).toBe(false);
    expect(existsSync(files.disk)).toBe(true);
    // An orderly power-off: the guest said so on its console.
    expect(readFileSync(files.consoleLog, 'utf8')).toContain('reboot: Power down');
    expect((await ctx.state.read()).hosts.vm1?.status).toBe('saved');
    expect((await vmProvider.list(ctx)).map((h) => h.state)).toEqual(['stopped']);
  });

  it('resume boots the same disk: the file is there, the host key unchanged', { timeout: 900_000 }, async () => {
    const { plan } = await resumeOn(vmProvider, ctx);
    expect(plan).toEqual([{ op: 'start', hosts: ['vm1'] }]);
    const again = (await ctx.state.read()).hosts.vm1!;
    expect(again.hostKey).toBe(vm.hostKey);
    expect(ssh(again, 'cat /root/kept.txt', knownHosts)).toBe('kept');
  });

  it('destroy leaves no QEMU, tap, disk, bridge or router', { timeout: 120_000 }, async () => {
    const pid = readVm(await ctx.state.read())!.machines.vm1!.pid!;
    const { removed } = await vmProvider.destroy(ctx);
    const id = ctx.project.id;
    expect(removed).toEqual([
      `VM vm1 (pid ${pid}, killed)`,
      `tap ${m.tap}`,
      `disk ${m.dir}`,
      `router namespace ${routerName(id)}`,
      `bridge ${bridgeName(id)}`,
      `bridge ${cloudBridgeName(id)}`,
    ]);
    expect(processAlive(pid)).toBe(false);
    const links = linkList();
    expect(links).not.toContain(m.tap);
    expect(links).not.toContain(bridgeName(ctx.project.id));
    expect(netnsList()).not.toContain(routerName(ctx.project.id));
    expect(existsSync(m.dir)).toBe(false);
    expect(readVm(await ctx.state.read())).toBeUndefined();
  });
});
