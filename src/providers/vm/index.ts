import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withFileLock } from '../../core/lock.js';
import { PccError, errorMessage } from '../../core/errors.js';
import { expandHome } from '../../core/project.js';
import { ensureUserKey, type UserKey } from '../../core/user-key.js';
import type { ListedHost, Spec } from '../types.js';
import { intToIp, type Subnet } from '../../network/ipv4.js';
import type { HostRecord, State, VolumeRecord } from '../../state/schema.js';
import type { BlockDeviceMatch } from '../../facts/block-device.js';
import type { AcquireRequest, DestroyReport, HostStatus, Provider, ProviderContext, SaveRequest } from '../types.js';
import { readLocal } from '../local/bookkeeping.js';
import { run } from '../local/exec.js';
import { networkFor, SUBNET_LOCK } from '../local/index.js';
import { ensureSites, removeSites } from '../local/lifecycle.js';
import { readsSshBanner, startDetached } from '../local/machine.js';
import {
  bridgeName,
  cloudBridgeName,
  LOCAL_SITES,
  linkExists,
  macFor,
  routerCloudAddress,
  routerHomeAddress,
  routerName,
  type LocalSite,
  type Sites,
} from '../local/network.js';
import { requireRoot } from '../local/preflight.js';
import { chooseAccel } from './accel.js';
import { patchVm, readVm, vmDir, vmFiles, writeVm, type Vm, type VmState } from './bookkeeping.js';
import { ensureVmImage, imagePaths, type VmImage } from './image.js';
import {
  createTapArgvs,
  deleteTapArgv,
  findQemuProcesses,
  hotplugDiskCommands,
  isQemuProcess,
  overlayDiskArgv,
  processAlive,
  qemuArgv,
  qmp,
  tapName,
  waitGone,
  type Accel,
  type VmDisk,
} from './qemu.js';
import { writeSeedDisk } from './seed.js';
import { requireVmTools, vmSettings } from './settings.js';

/**
 * Compute hosts as QEMU virtual machines with their own kernel, on the local
 * provider's site bridges (home behind its NAT router, or the cloud
 * segment) through a tap each, so the overlay, the NAT and the swarm treat a
 * VM like an nspawn host. Each VM boots the cached offline image (image.ts)
 * through a qcow2 overlay of its own, with its first-boot files on a seed
 * disk (seed.ts).
 */
const GROUPS = ['vm', 'cpu'];
const CLOUD_GROUP = 'cloud';
const BOOT_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'mkfs.ext4', 'ip', 'iptables', 'ssh-keygen'];
const STOP_TOOLS = ['ip'];
/** An orderly power-off under software emulation takes seconds; then QEMU is stopped. */
const POWERDOWN_TIMEOUT_MS = 90_000;
const POWER_BUTTON_REPEAT_MS = 10_000;

function baseCacheDir(ctx: ProviderContext): string {
  return path.resolve(expandHome(ctx.settings.values.LOCAL_BASE_CACHE, ctx.project.home));
}

interface Prepared {
  net: Sites;
  image: VmImage;
  accel: Accel;
  key: UserKey;
}

/** The user's key, the image, how QEMU runs here and the sites: all before any VM is created. */
async function prepare(ctx: ProviderContext): Promise<Prepared> {
  const cacheDir = baseCacheDir(ctx);
  if (!existsSync(imagePaths(cacheDir).dir)) requireVmTools(['debootstrap']);
  const key = await ensureUserKey(ctx.project, ctx.settings);
  const image = await ensureVmImage({ cacheDir, mirror: ctx.settings.values.LOCAL_MIRROR, progress: ctx.progress });
  const accel = await chooseAccel({ kernel: image.kernel, cacheFile: path.join(cacheDir, 'vm-accel.json'), progress: ctx.progress });
  const net = await withFileLock(
    { lockfile: SUBNET_LOCK, waitSeconds: 30, what: `the choice of local subnets (${SUBNET_LOCK})`, onWait: (m) => ctx.progress.note(`vm: ${m}`) },
    async () => {
      const state = await ctx.state.read();
      // The local provider's choice: VMs sit on the same segments as its hosts.
      const chosen = await networkFor(ctx, readLocal(state));
      await ensureSites(chosen);
      return chosen;
    },
  );
  return { net, image, accel, key };
}

/** One reconcile per project at a time (a second would take half-booted VMs for stopped ones). */
async function exclusively<T>(ctx: ProviderContext, tools: string[], fn: () => Promise<T>): Promise<T> {
  if (ctx.dry) return fn();
  requireRoot();
  requireVmTools(tools);
  await mkdir(ctx.project.stateDir, { recursive: true, mode: 0o700 });
  return withFileLock(
    {
      lockfile: path.join(ctx.project.stateDir, 'vm.lock'),
      // A first image build, and boots under software emulation, take minutes.
      waitSeconds: 900,
      what: 'the VMs of this project',
      onWait: (m) => ctx.progress.note(`vm: ${m}`),
    },
    fn,
  );
}

/** `vmN` at home, `cloudvmN` on the cloud segment. */
function nextName(state: State, taken: Set<string>, site: LocalSite): string {
  const prefix = site === 'cloud' ? 'cloudvm' : 'vm';
  for (let n = 1; ; n++) {
    const name = `${prefix}${n}`;
    if (!(name in state.hosts) && !taken.has(name)) return name;
  }
}

/**
 * The highest free address on the segment: the local provider counts up from
 * .2 and knows nothing of VMs, so VMs count down from below its router, and
 * the two meet only in a full segment. Every host of the state and every
 * local machine counts as taken.
 */
export function allocateFromTop(subnet: Subnet, used: Iterable<string>, reserved: readonly string[], where: string): string {
  const taken = new Set([...used, ...reserved]);
  const last = 2 ** (32 - subnet.prefix) - 2;
  for (let n = last; n >= 2; n--) {
    const ip = intToIp(subnet.network + n);
    if (!taken.has(ip)) return ip;
  }
  throw new PccError(`${subnet.cidr} has no free address left for a VM; choose a larger ${where}`);
}

function usedAddresses(state: State): string[] {
  const local = Object.values(readLocal(state)?.machines ?? {}).map((m) => m.address);
  const vms = Object.values(readVm(state)?.machines ?? {}).map((m) => m.address);
  return [...local, ...vms, ...Object.values(state.hosts).map((h) => h.address)];
}

function emptyVmState(net: Sites): VmState {
  return { subnet: net.home.cidr, cloudSubnet: net.cloud.cidr, bridge: net.homeBridge, machines: {} };
}

function recordNewVm(state: State, vm: VmState, name: string, site: LocalSite, ctx: ProviderContext, p: Prepared): void {
  const cloud = site === 'cloud';
  const address = cloud
    ? allocateFromTop(p.net.cloud, usedAddresses(state), [routerCloudAddress(p.net.cloud)], 'LOCAL_CLOUD_SUBNET')
    : allocateFromTop(p.net.home, usedAddresses(state), [routerHomeAddress(p.net.home)], 'LOCAL_SUBNET');
  vm.machines[name] = {
    site,
    address,
    mac: macFor(address, 0),
    tap: tapName(ctx.project.id, address),
    dir: vmDir(ctx.project, name),
    image: p.image.dir,
  };
  state.hosts[name] = {
    name,
    address,
    port: 22,
    user: 'root',
    key: p.key.privateKey,
    provider: 'vm',
    groups: cloud ? [...GROUPS, CLOUD_GROUP] : GROUPS,
    ...(cloud ? { site: 'cloud', dialable: true } : { site: 'home' }),
    providerId: name,
    status: 'creating',
    createdAt: new Date().toISOString(),
    meta: { tap: vm.machines[name]!.tap },
  };
}

function setHostStatus(state: State, name: string, status: string, learned: Partial<HostRecord> = {}): void {
  const h = state.hosts[name];
  if (h) state.hosts[name] = { ...h, ...learned, status };
}

/** Unique on this machine: QEMU's name for `ps`, and the QMP socket's. */
function qemuId(ctx: ProviderContext, name: string): string {
  return `pcc-${ctx.project.id}-${name}`;
}

/** Where a vm volume's disk lives: in the project, outside every VM's folder, so it outlives the VMs. */
export function vmVolumeFile(ctx: ProviderContext, volume: string): string {
  return path.join(ctx.project.stateDir, 'vm-volumes', `${volume}.raw`);
}

function volumeDisks(state: State, ctx: ProviderContext, host: string): VmDisk[] {
  return Object.values(state.volumes)
    .filter((v) => v.provider === 'vm' && v.attachedTo === host && v.providerId !== undefined)
    .map((v) => ({ file: vmVolumeFile(ctx, v.name), serial: v.providerId! }));
}

/**
 * Tap, disk and seed (new VMs only), then QEMU, waiting for sshd's banner;
 * recorded as it goes. The same for a new, a saved and a crashed VM.
 */
async function bringUp(name: string, fresh: boolean, ctx: ProviderContext, p: Prepared): Promise<void> {
  const state = await ctx.state.read();
  const m = readVm(state)?.machines[name];
  if (!m) throw new PccError(`vm: ${name} vanished from .pcc/state.json while starting`);
  const files = vmFiles(m, qemuId(ctx, name));
  const kernel = path.join(m.image, 'vmlinuz');
  if (!existsSync(kernel)) throw new PccError(`vm: ${name} was made on the image ${m.image}, which is gone; run pcc destroy vm and acquire again`);
  ctx.progress.host(name, fresh ? `creating at ${m.address} (${m.site})` : `resuming at ${m.address} (${m.site})`);
  // Two QEMUs on one disk would wreck it: a leftover of a killed run goes first.
  await killQemu(m, files.disk);
  await mkdir(m.dir, { recursive: true, mode: 0o755 });
  const learned: Partial<HostRecord> = {};
  if (fresh || !existsSync(files.disk)) {
    await rm(files.disk, { force: true });
    await run(overlayDiskArgv(path.join(m.image, 'root.img'), files.disk));
    const registries = [p.net.home.cidr, ctx.settings.values.OVERLAY_SUBNET];
    const registryHost = ctx.settings.values.REGISTRY_HOST;
    // host[:port] only: anything else in daemon.json keeps dockerd from starting.
    if (registryHost && /^[A-Za-z0-9.-]+(:\d+)?$/.test(registryHost)) registries.push(registryHost);
    const cloud = m.site === 'cloud';
    learned.hostKey = await writeSeedDisk(files.seed, {
      name,
      address: m.address,
      prefix: (cloud ? p.net.cloud : p.net.home).prefix,
      ...(cloud ? {} : { gateway: routerHomeAddress(p.net.home) }),
      mac: m.mac,
      publicKey: p.key.publicKey,
      insecureRegistries: registries,
    });
  }
  await ensureTap(m, p.net);
  await mkdir(path.dirname(files.qmpSocket), { recursive: true, mode: 0o700 });
  await rm(files.qmpSocket, { force: true });
  await rm(files.pidFile, { force: true });
  const settings = vmSettings(ctx);
  const argv = qemuArgv({
    id: qemuId(ctx, name),
    // This machine's answer now, not the one at creation: a project folder may move to a machine with KVM.
    accel: p.accel,
    memoryMiB: settings.VM_MEMORY_MB,
    cpus: settings.VM_CPUS,
    kernel,
    initrd: path.join(m.image, 'initrd.img'),
    disk: files.disk,
    seed: files.seed,
    tap: m.tap,
    mac: m.mac,
    consoleLog: files.consoleLog,
    pidFile: files.pidFile,
    qmpSocket: files.qmpSocket,
    volumes: volumeDisks(state, ctx, name),
  });
  const logSize = (await stat(files.consoleLog).catch(() => undefined))?.size ?? 0;
  ctx.progress.host(name, `booting (${p.accel === 'tcg' ? 'software emulation' : 'KVM'}; console: ${files.consoleLog})`);
  // QEMU's own errors land in the console log too, after what the guest said.
  const started = startDetached(argv, files.consoleLog);
  await ctx.state.update((s) => {
    patchVm(s, name, { pid: started.pid, startedAt: new Date().toISOString() });
    setHostStatus(s, name, 'booting', learned);
  });
  const timeoutS = settings.VM_BOOT_TIMEOUT_S;
  const deadline = Date.now() + timeoutS * 1000;
  let answered = false;
  while (Date.now() < deadline && started.running()) {
    if (await readsSshBanner(m.address, 22, 2000)) {
      answered = true;
      break;
    }
    await sleep(1000);
  }
  if (!answered) {
    const said = ((await readFile(files.consoleLog).catch(() => undefined))?.subarray(logSize).toString('utf8') ?? '').trim();
    const tail = said.split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' / ');
    const why = started.running() ? `did not answer on ${m.address}:22 within ${timeoutS} s (VM_BOOT_TIMEOUT_S)` : 'QEMU stopped while it booted';
    throw new PccError(`vm: ${name} ${why}; its console log is ${files.consoleLog}${tail ? `: ${tail}` : ''}`);
  }
  await ctx.state.update((s) => setHostStatus(s, name, 'running'));
  ctx.progress.host(name, `running at ${m.address}`);
}

/** The VM's tap on its site's bridge; one left by a crash is reused. */
async function ensureTap(m: Vm, net: Sites): Promise<void> {
  const bridge = m.site === 'cloud' ? net.cloudBridge : net.homeBridge;
  const [add, attach] = createTapArgvs(m.tap, bridge);
  if (!linkExists(m.tap)) await run(add!);
  await run(attach!);
}

async function bringUpAll(items: { name: string; fresh: boolean }[], ctx: ProviderContext, p: Prepared): Promise<void> {
  const results = await Promise.allSettled(items.map((i) => bringUp(i.name, i.fresh, ctx, p)));
  const failed = items.filter((_, i) => results[i]!.status === 'rejected');
  if (failed.length === 0) return;
  await ctx.state.update((state) => failed.forEach((f) => setHostStatus(state, f.name, 'failed')));
  const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
  throw new PccError(`${errorMessage(first.reason)}${failed.length > 1 ? ` (also failed: ${failed.slice(1).map((f) => f.name).join(', ')})` : ''}; pcc destroy vm removes what was made`);
}

function qemuPids(m: Vm, disk: string): number[] {
  const pids = new Set(findQemuProcesses(disk));
  if (m.pid !== undefined && isQemuProcess(m.pid, disk)) pids.add(m.pid);
  return [...pids];
}

/** QEMU stopped at once (the disk is about to go, or a leftover must not run beside a new start). */
async function killQemu(m: Vm, disk: string): Promise<number[]> {
  const pids = qemuPids(m, disk);
  for (const pid of pids) {
    signal(pid, 'SIGKILL');
    await waitGone(() => processAlive(pid), 5000);
  }
  return pids;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * The guest's power button (ACPI, through QMP): an orderly shutdown that
 * keeps the disk consistent. QEMU is stopped if the guest does not power
 * off in time. The tap goes too; the disk stays.
 */
async function powerOff(ctx: ProviderContext, name: string, m: Vm): Promise<string[]> {
  const files = vmFiles(m, qemuId(ctx, name));
  const removed: string[] = [];
  for (const pid of qemuPids(m, files.disk)) {
    let how = 'powered off';
    if (!(await pressPowerButton(files.qmpSocket, () => isQemuProcess(pid, files.disk)))) {
      signal(pid, 'SIGTERM');
      how = 'stopped';
      if (!(await waitGone(() => isQemuProcess(pid, files.disk), 10_000))) {
        signal(pid, 'SIGKILL');
        await waitGone(() => processAlive(pid), 5000);
        how = 'killed';
      }
    }
    removed.push(`VM ${name} (pid ${pid}, ${how})`);
  }
  await removeRunFiles(m, files);
  return removed;
}

/**
 * Pressed again every few seconds until the guest is off: a press before
 * systemd-logind watches the button (a VM saved right after it booted) is
 * lost. False when the guest did not power off in time, or QMP never answered.
 */
async function pressPowerButton(qmpSocket: string, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + POWERDOWN_TIMEOUT_MS;
  let answered = false;
  while (Date.now() < deadline) {
    answered = (await qmp(qmpSocket, ['system_powerdown']).then(() => true, () => false)) || answered;
    if (await waitGone(alive, Math.min(POWER_BUTTON_REPEAT_MS, Math.max(0, deadline - Date.now())))) return true;
    if (!answered) return false;
  }
  return !alive();
}

async function removeRunFiles(m: Vm, files: ReturnType<typeof vmFiles>): Promise<void> {
  await rm(files.qmpSocket, { force: true });
  await rm(files.pidFile, { force: true });
  if (linkExists(m.tap)) await run(deleteTapArgv(m.tap), { allowFail: true });
}

function siteOf(request: AcquireRequest): LocalSite {
  const site = request.site ?? 'home';
  if (!(LOCAL_SITES as readonly string[]).includes(site)) {
    throw new PccError(`--site ${site}: the vm provider has the sites ${LOCAL_SITES.join(' and ')}`);
  }
  return site as LocalSite;
}

interface VmSpecDetail {
  site: LocalSite;
}

const specKey = (site: LocalSite) => `cpu:${site}`;

function isRunning(ctx: ProviderContext, name: string, m: Vm): boolean {
  return isQemuProcess(m.pid, vmFiles(m, qemuId(ctx, name)).disk);
}

async function list(ctx: ProviderContext): Promise<ListedHost[]> {
  const state = await ctx.state.read();
  return Object.entries(readVm(state)?.machines ?? {}).map(([name, m]) => {
    const status = state.hosts[name]?.status;
    // Running once a run saw its sshd answer; a VM whose start failed or was killed counts as stopped.
    const running = isRunning(ctx, name, m) && status === 'running';
    return {
      name,
      role: 'compute' as const,
      spec: specKey(m.site),
      state: running ? ('running' as const) : ('stopped' as const),
      ...(!running && status !== 'saved' ? { unsaved: true } : {}),
    };
  });
}

async function spec(request: AcquireRequest): Promise<Spec<VmSpecDetail>> {
  if (request.type === 'gpu') throw new PccError('the vm provider has no GPU hosts; use --type cpu, or a provider with GPUs (ec2)');
  const site = siteOf(request);
  return { key: specKey(site), label: `cpu (QEMU VM, ${site} segment)`, detail: { site } };
}

async function create(s: Spec<VmSpecDetail>, count: number, ctx: ProviderContext): Promise<HostRecord[]> {
  const site = s.detail.site;
  if (ctx.dry) {
    const state = await ctx.state.read();
    const taken = new Set<string>();
    for (let i = 0; i < count; i++) {
      const name = nextName(state, taken, site);
      taken.add(name);
      ctx.progress.host(name, `would create a QEMU VM on the ${site} segment`);
    }
    return [];
  }
  requireVmTools(BOOT_TOOLS);
  const p = await prepare(ctx);
  const names = await ctx.state.update((state) => {
    const vm = readVm(state) ?? emptyVmState(p.net);
    const taken = new Set<string>();
    for (let i = 0; i < count; i++) {
      const name = nextName(state, taken, site);
      taken.add(name);
      recordNewVm(state, vm, name, site, ctx, p);
      writeVm(state, vm);
    }
    return [...taken];
  });
  await bringUpAll(names.map((name) => ({ name, fresh: true })), ctx, p);
  return hostsNamed(ctx, names);
}

async function start(names: string[], ctx: ProviderContext): Promise<HostRecord[]> {
  if (ctx.dry) {
    const machines = readVm(await ctx.state.read())?.machines ?? {};
    for (const name of names) ctx.progress.host(name, `would resume at ${machines[name]?.address}`);
    return [];
  }
  requireVmTools(BOOT_TOOLS);
  const p = await prepare(ctx);
  const state = await ctx.state.read();
  // A VM killed before its first boot finished has no host key recorded: it is made fresh.
  await bringUpAll(names.map((name) => ({ name, fresh: state.hosts[name]?.hostKey === undefined })), ctx, p);
  return hostsNamed(ctx, names);
}

async function hostsNamed(ctx: ProviderContext, names: readonly string[]): Promise<HostRecord[]> {
  const state = await ctx.state.read();
  return names.flatMap((n) => (state.hosts[n] ? [state.hosts[n]] : []));
}

async function stop(names: string[], _request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]> {
  const machines = readVm(await ctx.state.read())?.machines ?? {};
  if (ctx.dry) {
    for (const name of names) ctx.progress.host(name, 'would power off and keep its disk');
    return [];
  }
  await Promise.all(
    names.map(async (name) => {
      const m = machines[name];
      if (!m) return;
      ctx.progress.host(name, 'powering off');
      await powerOff(ctx, name, m);
      await ctx.state.update((state) => {
        patchVm(state, name, { pid: undefined, startedAt: undefined });
        setHostStatus(state, name, 'saved');
      });
      ctx.progress.host(name, 'saved');
    }),
  );
  return hostsNamed(ctx, names);
}

/** QEMU, tap, disk, seed, logs and sockets; each record goes once its VM is gone. */
async function terminate(names: string[], ctx: ProviderContext): Promise<string[]> {
  const machines = readVm(await ctx.state.read())?.machines ?? {};
  if (ctx.dry) return names.map((name) => `VM ${name} (${machines[name]?.address}) and its disk ${machines[name]?.dir}`);
  const perVm = await Promise.all(
    names.map(async (name) => {
      const m = machines[name];
      const removed: string[] = [];
      ctx.progress.host(name, 'destroying');
      if (m) {
        const files = vmFiles(m, qemuId(ctx, name));
        for (const pid of await killQemu(m, files.disk)) removed.push(`VM ${name} (pid ${pid}, killed)`);
        const hadTap = linkExists(m.tap);
        await removeRunFiles(m, files);
        if (hadTap) removed.push(`tap ${m.tap}`);
        if (existsSync(m.dir)) {
          await rm(m.dir, { recursive: true, force: true });
          removed.push(`disk ${m.dir}`);
        }
      }
      await ctx.state.update((state) => {
        const vm = readVm(state);
        if (vm) delete vm.machines[name];
        writeVm(state, vm);
        delete state.hosts[name];
      });
      ctx.progress.host(name, 'destroyed');
      return removed;
    }),
  );
  return perVm.flat();
}

/**
 * Every VM of the project and the host records without one. The sites go
 * too when no local host is left on them (they are the local provider's
 * as much as ours).
 */
async function destroy(ctx: ProviderContext): Promise<DestroyReport> {
  const state = await ctx.state.read();
  const vm = readVm(state);
  const names = Object.keys(vm?.machines ?? {});
  const localLeft = Object.keys(readLocal(state)?.machines ?? {}).length > 0;
  // The last VM's record goes with it (a release), so the names may come from the project id alone.
  const homeBridge = vm?.bridge ?? bridgeName(ctx.project.id, ctx.settings.values.LOCAL_BRIDGE);
  const sites = localLeft ? undefined : { homeBridge, cloudBridge: cloudBridgeName(ctx.project.id), router: routerName(ctx.project.id) };
  if (ctx.dry) {
    const lines = (await terminate(names, ctx)).map((l) => `would remove ${l}`);
    if (sites && (linkExists(sites.homeBridge) || linkExists(sites.cloudBridge))) {
      lines.push(`would remove bridges ${sites.homeBridge} and ${sites.cloudBridge} and router ${sites.router}`);
    }
    return { removed: lines };
  }
  const removed = await terminate(names, ctx);
  if (sites) removed.push(...(await removeSites(sites)));
  await ctx.state.update((s) => {
    for (const h of Object.values(s.hosts).filter((h) => h.provider === 'vm')) {
      delete s.hosts[h.name];
      removed.push(`host record ${h.name}`);
    }
    writeVm(s, undefined);
  });
  await rmdir(path.join(ctx.project.stateDir, 'vm')).catch(() => undefined);
  return { removed };
}

async function status(ctx: ProviderContext): Promise<HostStatus[]> {
  const state = await ctx.state.read();
  const machines = readVm(state)?.machines ?? {};
  return Object.values(state.hosts)
    .filter((h) => h.provider === 'vm')
    .map((h) => {
      const m = machines[h.name];
      const running = m !== undefined && isRunning(ctx, h.name, m);
      return {
        name: h.name,
        provider: 'vm' as const,
        state: running ? 'running' : h.status === 'saved' || h.status === 'failed' ? h.status : 'stopped',
        ...(running && m.startedAt ? { since: m.startedAt } : {}),
        ...(running ? { usdPerHour: 0 } : {}),
        address: h.address,
        ...(h.site ? { site: h.site } : {}),
        groups: h.groups,
      };
    });
}

/** A sparse raw file; its serial (the volume's id) is how setup finds it in the guest. */
async function createVolume(v: VolumeRecord, ctx: ProviderContext): Promise<Partial<VolumeRecord>> {
  const file = vmVolumeFile(ctx, v.name);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, '', { flag: 'wx', mode: 0o600 });
  await truncate(file, v.sizeGiB * 1024 ** 3);
  // virtio-blk serials hold 20 bytes.
  return { providerId: `pccvol-${randomBytes(6).toString('hex')}` };
}

async function deleteVolume(v: VolumeRecord, ctx: ProviderContext): Promise<string[]> {
  const file = vmVolumeFile(ctx, v.name);
  await rm(file, { force: true });
  return [`volume ${v.name} (disk ${file})`];
}

/**
 * The attachment is already in the state, so every later boot has the disk.
 * A running VM gets it plugged in now; where QEMU refuses that, it powers
 * off and boots again with the disk.
 */
async function attachVolume(v: VolumeRecord, host: HostRecord, ctx: ProviderContext): Promise<void> {
  await exclusively(ctx, BOOT_TOOLS, async () => {
    const m = readVm(await ctx.state.read())?.machines[host.name];
    if (!m) throw new PccError(`vm: ${host.name} is not a VM of this project; volume ${v.name} is not attached`);
    const files = vmFiles(m, qemuId(ctx, host.name));
    if (v.providerId !== undefined && isRunning(ctx, host.name, m)) {
      const plugged = await qmp(files.qmpSocket, hotplugDiskCommands({ file: vmVolumeFile(ctx, v.name), serial: v.providerId })).then(
        () => true,
        (err: unknown) => {
          ctx.progress.note(`vm: ${host.name}: plugging volume ${v.name} in failed (${errorMessage(err)}); booting again with it`);
          return false;
        },
      );
      if (plugged) return;
    }
    const p = await prepare(ctx);
    ctx.progress.host(host.name, `booting again with volume ${v.name} at ${v.mountPoint}`);
    await powerOff(ctx, host.name, m);
    await ctx.state.update((state) => patchVm(state, host.name, { pid: undefined, startedAt: undefined }));
    await bringUpAll([{ name: host.name, fresh: false }], ctx, p);
  });
}

/** A virtio disk whose serial is the volume's id: udev links it as /dev/disk/by-id/virtio-<serial>. */
export function vmVolumeDevice(v: VolumeRecord): BlockDeviceMatch | undefined {
  if (v.providerId === undefined) return undefined;
  return { what: `volume ${v.name} (${v.providerId})`, serial: v.providerId, byId: [`virtio-${v.providerId}`], names: [] };
}

export const vmProvider: Provider<VmSpecDetail> = {
  name: 'vm',
  exclusive: (ctx, fn) => exclusively(ctx, BOOT_TOOLS, fn),
  list,
  spec,
  create,
  start,
  stop,
  terminate,
  destroy: (ctx) => exclusively(ctx, STOP_TOOLS, () => destroy(ctx)),
  status,
  priceOf: async () => ({ usdPerHour: 0 }),
  priceOfHost: async () => 0,
  createVolume,
  deleteVolume,
  attachVolume,
  volumeDevice: vmVolumeDevice,
  volumeUsdPerMonth: () => 0,
};
