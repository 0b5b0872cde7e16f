import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { withFileLock } from '../../core/lock.js';
import { PccError, errorMessage } from '../../core/errors.js';
import { expandHome, PROJECT_MOUNT, UNEXPORTED_DIRS } from '../../core/project.js';
import type { HostRecord, State, VolumeRecord } from '../../state/schema.js';
import type { ListedHost, Spec } from '../types.js';
import type { AcquireRequest, DestroyReport, HostStatus, Provider, ProviderContext, SaveRequest } from '../types.js';
import { basePath, ensureBase } from './base.js';
import {
  machinePaths,
  patchMachine,
  readLocal,
  writeLocal,
  type LocalState,
  type Machine,
} from './bookkeeping.js';
import { ensureUserKey, type UserKey } from '../../core/user-key.js';
import {
  boot,
  ensureHostNetwork,
  ensureRootMounted,
  ensureSites,
  powerOff,
  removeMachine,
  removeSites,
  writeFirstBootFiles,
  type BootExtras,
} from './lifecycle.js';
import { isMachineProcess } from './machine.js';
import {
  allocateAddress,
  bridgeName,
  cloudBridgeName,
  LOCAL_SITES,
  netnsName,
  parseSubnet,
  linkExists,
  netnsExists,
  routerCloudAddress,
  routerName,
  routerVeths,
  vethName,
  type LocalSite,
  type Sites,
} from './network.js';
import { requireRoot, requireTools } from './preflight.js';
import { projectSource, removeProjectView } from './project-view.js';
import { chooseSubnet, rootAddresses, type InterfaceAddress } from './subnet.js';

/** Where the controller sees the exported project folder and keeps registry storage. */
export { CONTROLLER_NAME } from '../../core/controller.js';
import { CONTROLLER_NAME } from '../../core/controller.js';
export const CONTROLLER_EXPORT = '/project-export';
export const CONTROLLER_REGISTRY_STORAGE = '/var/lib/docker-registry';

const COMPUTE_GROUPS = ['local', 'cpu'];
/** Cloud-segment hosts are also group `cloud`, so `pcc setup cloud` and `local:&cloud` work. */
const CLOUD_GROUP = 'cloud';
/** Not `local`: a provider pattern means compute hosts (see inventory/groups.ts). */
const CONTROLLER_GROUPS = ['controller'];
const BOOT_TIMEOUT_MS = 60_000;
const BOOT_TOOLS = ['systemd-nspawn', 'ip', 'iptables', 'ssh-keygen', 'mount'];
const STOP_TOOLS = ['ip', 'mount'];

type Net = Sites;

function emptyLocal(net: Net): LocalState {
  return { subnet: net.home.cidr, bridge: net.homeBridge, cloudSubnet: net.cloud.cidr, machines: {} };
}

/**
 * The project's two segments: what its hosts use, or for a new project the
 * settings, or free subnets when another project holds the defaults. Every
 * name carries the project id.
 */
export async function networkFor(ctx: ProviderContext, local: LocalState | undefined): Promise<Net> {
  const v = ctx.settings.values;
  const origin = ctx.settings.origin;
  const hasHosts = local !== undefined && Object.keys(local.machines).length > 0;
  if (hasHosts && v.LOCAL_BRIDGE !== undefined && v.LOCAL_BRIDGE !== local.bridge) {
    throw new PccError(`LOCAL_BRIDGE is ${v.LOCAL_BRIDGE} but the local hosts use ${local.bridge}; set it back, or pcc destroy local first`);
  }
  const homeBridge = hasHosts ? local.bridge : bridgeName(ctx.project.id, v.LOCAL_BRIDGE);
  const cloudBridge = cloudBridgeName(ctx.project.id);
  // A dry run on a machine without `ip` still plans.
  const addresses = await rootAddresses().catch((): InterfaceAddress[] => []);
  // A bridge left by a run killed before it recorded anything is this project's claim too.
  const own = addresses.find((a) => a.dev === homeBridge);
  const leftover = own && !origin.LOCAL_SUBNET ? `${own.address.replace(/\.\d+$/, '.0')}/${own.prefix}` : undefined;
  const home = chooseSubnet({
    recorded: hasHosts ? local.subnet : leftover,
    configured: v.LOCAL_SUBNET,
    origin: origin.LOCAL_SUBNET,
    ownBridge: homeBridge,
    addresses,
  });
  const cloud = chooseSubnet({
    recorded: hasHosts ? local.cloudSubnet : undefined,
    configured: v.LOCAL_CLOUD_SUBNET,
    origin: origin.LOCAL_CLOUD_SUBNET,
    setting: 'LOCAL_CLOUD_SUBNET',
    ownBridge: homeBridge,
    // The home subnet just chosen is taken too.
    addresses: [...addresses, { dev: 'the-home-segment', address: home.subnet.cidr.split('/')[0]!, prefix: home.subnet.prefix }],
  });
  if (home.picked) ctx.progress.warn(`local: ${v.LOCAL_SUBNET} is taken on this machine; this project's home hosts use ${home.subnet.cidr}`);
  if (cloud.picked) ctx.progress.warn(`local: ${v.LOCAL_CLOUD_SUBNET} is taken on this machine; this project's cloud hosts use ${cloud.subnet.cidr}`);
  return { home: home.subnet, homeBridge, cloud: cloud.subnet, cloudBridge, router: routerName(ctx.project.id) };
}

function baseCacheDir(ctx: ProviderContext): string {
  return path.resolve(expandHome(ctx.settings.values.LOCAL_BASE_CACHE, ctx.project.home));
}

/** Where projects on this machine agree on subnets: picking them and making the bridges that claim them is one step. */
export const SUBNET_LOCK = '/run/pcc/local-subnets.lock';

/** Settings that agree with the existing hosts, the user's key and the base: all before any host is created. */
async function prepare(ctx: ProviderContext): Promise<{ net: Net; base: string; key: UserKey }> {
  const cacheDir = baseCacheDir(ctx);
  if (!existsSync(basePath(cacheDir))) requireTools(['debootstrap']);
  const key = await ensureUserKey(ctx.project, ctx.settings);
  const base = await ensureBase({ cacheDir, mirror: ctx.settings.values.LOCAL_MIRROR, progress: ctx.progress });
  const net = await withFileLock(
    { lockfile: SUBNET_LOCK, waitSeconds: 30, what: `the choice of local subnets (${SUBNET_LOCK})`, onWait: (m) => ctx.progress.note(`local: ${m}`) },
    async () => {
      const chosen = await networkFor(ctx, readLocal(await ctx.state.read()));
      // The home bridge holds the subnet's first address and the route to the cloud: other projects now see both taken.
      await ensureSites(chosen);
      return chosen;
    },
  );
  return { net, base, key };
}

/**
 * One local-provider operation per project at a time: a second `pcc acquire`
 * would otherwise see the first one's half-booted machines as stopped ones
 * to resume. The state lock alone covers single writes, not whole boots.
 */
async function exclusively<T>(ctx: ProviderContext, tools: string[], fn: () => Promise<T>): Promise<T> {
  if (ctx.dry) return fn();
  // Before anything is created, even the lock.
  requireRoot();
  requireTools(tools);
  await mkdir(ctx.project.stateDir, { recursive: true, mode: 0o700 });
  return withFileLock(
    {
      lockfile: path.join(ctx.project.stateDir, 'local.lock'),
      // A base build (first run only) can take minutes.
      waitSeconds: 600,
      what: 'the local hosts of this project',
      onWait: (m) => ctx.progress.note(`local: ${m}`),
    },
    fn,
  );
}

function localHosts(state: State): HostRecord[] {
  return Object.values(state.hosts).filter((h) => h.provider === 'local');
}

/** Home hosts are `localN`, cloud-segment hosts `cloudN`, so an alias says where a host is. */
function nextComputeName(state: State, taken: Set<string>, site: LocalSite): string {
  const prefix = site === 'cloud' ? 'cloud' : 'local';
  for (let n = 1; ; n++) {
    const name = `${prefix}${n}`;
    if (!(name in state.hosts) && !taken.has(name)) return name;
  }
}

/**
 * Addresses a new machine must not take: this provider's machines and every
 * host of the state, since the vm provider's VMs sit on the same segments
 * (counting down from the top, while this provider counts up).
 */
function takenAddresses(state: State, local: LocalState | undefined): string[] {
  return [...Object.values(local?.machines ?? {}).map((m) => m.address), ...Object.values(state.hosts).map((h) => h.address)];
}

/** Record a new machine and its host (status `creating`) before any of it exists, so destroy can always find it. */
function recordNewMachine(
  state: State,
  local: LocalState,
  name: string,
  role: Machine['role'],
  site: LocalSite,
  ctx: ProviderContext,
  net: Net,
  base: string,
  key: UserKey,
): void {
  const cloud = site === 'cloud';
  const used = takenAddresses(state, local);
  const address = cloud ? allocateAddress(net.cloud, [...used, routerCloud(net)], 'LOCAL_CLOUD_SUBNET') : allocateAddress(net.home, used, 'LOCAL_SUBNET');
  const netns = netnsName(ctx.project.id, name);
  local.machines[name] = {
    role,
    site,
    address,
    netns,
    veth: vethName(ctx.project.id, address),
    ...machinePaths(ctx.project, name, netns),
    base,
    cgroups: [],
  };
  state.hosts[name] = {
    name,
    address,
    port: 22,
    user: 'root',
    key: key.privateKey,
    provider: 'local',
    groups: role === 'controller' ? CONTROLLER_GROUPS : cloud ? [...COMPUTE_GROUPS, CLOUD_GROUP] : COMPUTE_GROUPS,
    ...(cloud ? { site: 'cloud', dialable: true } : { site: 'home' }),
    providerId: name,
    status: 'creating',
    createdAt: new Date().toISOString(),
    ...(role === 'controller' ? { exportPath: CONTROLLER_EXPORT, registryStorage: CONTROLLER_REGISTRY_STORAGE } : {}),
    meta: { netns },
  };
}

function setHostStatus(state: State, name: string, status: string, learned: Partial<HostRecord> = {}): void {
  const h = state.hosts[name];
  if (h) state.hosts[name] = { ...h, ...learned, status };
}

/** The controller's extra view of this computer: the project to export, and registry storage that outlives it. */
async function controllerExtras(ctx: ProviderContext, m: Machine): Promise<BootExtras> {
  const registryDir = path.join(ctx.project.stateDir, 'registry');
  await mkdir(registryDir, { recursive: true, mode: 0o755 });
  // The mount point of the tmpfs that hides it: made here, not by nspawn as root through the bind.
  await mkdir(ctx.project.configDir, { recursive: true, mode: 0o755 });
  const owner = passwdEntry(path.join(m.base, 'etc/passwd'), 'docker-registry');
  if (owner) await chown(registryDir, owner.uid, owner.gid);
  return {
    binds: [`${ctx.project.root}:${CONTROLLER_EXPORT}`, `${registryDir}:${CONTROLLER_REGISTRY_STORAGE}`],
    // Not part of the export, nor seen by the controller (UNEXPORTED_DIRS says why).
    tmpfs: UNEXPORTED_DIRS.map((d) => `${CONTROLLER_EXPORT}/${d}`),
    // ganesha exports by file handle.
    syscalls: ['open_by_handle_at'],
  };
}

/**
 * What a compute host sees of this computer: the project folder itself at
 * `/project` (it shares this machine's disk, so no NFS is needed, and its
 * kernel may have no NFS client), with the same empty read-only covers over
 * UNEXPORTED_DIRS that the export has; and its data volumes.
 */
async function computeExtras(ctx: ProviderContext, name: string): Promise<BootExtras> {
  // The covers' mount points: made here, not by nspawn as root through the bind.
  await mkdir(ctx.project.configDir, { recursive: true, mode: 0o755 });
  return {
    binds: [`${await projectSource(ctx.project.root, ctx.project.id)}:${PROJECT_MOUNT}`, ...volumeBinds(await ctx.state.read(), ctx, name)],
    tmpfs: UNEXPORTED_DIRS.map((d) => `${PROJECT_MOUNT}/${d}:ro,mode=0555`),
  };
}

function passwdEntry(file: string, user: string): { uid: number; gid: number } | undefined {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Network, root, first-boot files (new machines only), then nspawn; recorded
 * as it goes. Works the same for a new, a saved and a crashed machine.
 */
async function bringUp(name: string, fresh: boolean, ctx: ProviderContext, net: Net, key: UserKey): Promise<void> {
  const m = readLocal(await ctx.state.read())?.machines[name];
  if (!m) throw new PccError(`local: ${name} vanished from .pcc/state.json while starting`);
  if (!existsSync(m.base)) {
    throw new PccError(`local: ${name} was made on the base ${m.base}, which is gone; run pcc destroy local and acquire again`);
  }
  ctx.progress.host(name, fresh ? `creating at ${m.address} (${m.site})` : `resuming at ${m.address} (${m.site})`);
  const network = await ensureHostNetwork(m, net);
  // Left half-made by a kill while it was being made: said, since it explains a slow or failed earlier run.
  if (network.repaired) ctx.progress.host(name, `repaired its network namespace ${m.netns} (${network.repaired})`);
  await ensureRootMounted(m);
  const learned: Partial<HostRecord> = {};
  if (fresh) {
    const registries = [net.home.cidr, ctx.settings.values.OVERLAY_SUBNET];
    // host[:port] only: anything else in daemon.json keeps dockerd from starting.
    const registryHost = ctx.settings.values.REGISTRY_HOST;
    if (registryHost && /^[A-Za-z0-9.-]+(:\d+)?$/.test(registryHost)) registries.push(registryHost);
    learned.hostKey = await writeFirstBootFiles(m, { name, publicKey: key.publicKey, insecureRegistries: registries });
  }
  const extras = m.role === 'controller' ? await controllerExtras(ctx, m) : await computeExtras(ctx, name);
  ctx.progress.host(name, 'booting');
  // Set at every boot, so a host made by an older pcc gets the share when it boots again.
  if (m.role === 'compute') learned.projectBound = true;
  await boot(name, m, extras, {
    timeoutMs: BOOT_TIMEOUT_MS,
    onStarted: (b) =>
      ctx.state.update((state) => {
        patchMachine(state, name, b);
        setHostStatus(state, name, 'booting', learned);
      }),
  });
  await ctx.state.update((state) => setHostStatus(state, name, 'running'));
  ctx.progress.host(name, `running at ${m.address}`);
}

/** Where a local volume's files live: in the project, outside every host's disk, so they outlive the hosts. */
export function localVolumeDir(ctx: ProviderContext, volume: string): string {
  return path.join(ctx.project.stateDir, 'volumes', volume);
}

/** The volumes attached to a host, as nspawn binds: binds are set at boot. */
function volumeBinds(state: State, ctx: ProviderContext, host: string): string[] {
  return Object.values(state.volumes)
    .filter((v) => v.provider === 'local' && v.attachedTo === host && v.mountPoint !== undefined)
    .map((v) => `${localVolumeDir(ctx, v.name)}:${v.mountPoint}`);
}

async function createVolume(v: VolumeRecord, ctx: ProviderContext): Promise<Partial<VolumeRecord>> {
  const dir = localVolumeDir(ctx, v.name);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  ctx.progress.note(`local: volume ${v.name} is the folder ${dir} (its size, ${v.sizeGiB} GiB, is not enforced on local)`);
  return { providerId: dir };
}

async function deleteVolume(v: VolumeRecord, ctx: ProviderContext): Promise<string[]> {
  const dir = localVolumeDir(ctx, v.name);
  await rm(dir, { recursive: true, force: true });
  return [`volume ${v.name} (folder ${dir})`];
}

/** The attachment is already in the state; a running host boots again to get the bind. */
async function attachVolume(v: VolumeRecord, host: HostRecord, ctx: ProviderContext): Promise<void> {
  await exclusively(ctx, BOOT_TOOLS, async () => {
    const m = readLocal(await ctx.state.read())?.machines[host.name];
    if (!m) throw new PccError(`local: ${host.name} is not a local machine of this project; volume ${v.name} is not attached`);
    if (m.role !== 'compute') throw new PccError(`local: ${host.name} is the controller; volumes attach to compute hosts`);
    const { net, key } = await prepare(ctx);
    ctx.progress.host(host.name, `booting again with volume ${v.name} at ${v.mountPoint}`);
    await powerOff(host.name, m);
    await ctx.state.update((state) => patchMachine(state, host.name, { pid: undefined, startedAt: undefined, cgroups: [] }));
    await bringUpAll([{ name: host.name, fresh: false }], ctx, net, key);
  });
}

/** Bring up several machines in parallel; all are tried, then the first failure is reported. */
async function bringUpAll(
  items: { name: string; fresh: boolean }[],
  ctx: ProviderContext,
  net: Net,
  key: UserKey,
): Promise<void> {
  if (items.length > 0) await ensureSites(net);
  const results = await Promise.allSettled(items.map((i) => bringUp(i.name, i.fresh, ctx, net, key)));
  const failed = items.filter((_, i) => results[i]!.status === 'rejected');
  if (failed.length === 0) return;
  await ctx.state.update((state) => failed.forEach((f) => setHostStatus(state, f.name, 'failed')));
  const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
  throw new PccError(
    `local: ${failed.map((f) => f.name).join(', ')} failed to start: ${errorMessage(first.reason)}; pcc destroy local removes what was made`,
  );
}

/** The network the machines were made on, which the settings may no longer say. */
function sitesOf(local: LocalState, ctx: ProviderContext): Sites {
  const home = parseSubnet(local.subnet);
  const cloud = parseSubnet(local.cloudSubnet ?? ctx.settings.values.LOCAL_CLOUD_SUBNET, 'LOCAL_CLOUD_SUBNET');
  return { home, homeBridge: local.bridge, cloud, cloudBridge: cloudBridgeName(ctx.project.id), router: routerName(ctx.project.id) };
}

/**
 * The project's bridges and router when the state no longer names them: the
 * last machine's record goes with the machine, so a destroy (or an acquire)
 * killed before the bridges went leaves them behind with no `providers.local`.
 * Their names come from the project id; undefined when none of them exists.
 */
function leftoverSites(ctx: ProviderContext): Pick<Sites, 'homeBridge' | 'cloudBridge' | 'router'> | undefined {
  const id = ctx.project.id;
  const s = { homeBridge: bridgeName(id, ctx.settings.values.LOCAL_BRIDGE), cloudBridge: cloudBridgeName(id), router: routerName(id) };
  const veths = routerVeths(s.router);
  const left = linkExists(s.homeBridge) || linkExists(s.cloudBridge) || netnsExists(s.router) || linkExists(veths.home) || linkExists(veths.cloud);
  return left ? s : undefined;
}

function routerCloud(net: Net): string {
  return routerCloudAddress(net.cloud);
}

function siteOf(request: AcquireRequest): LocalSite {
  const site = request.site ?? 'home';
  if (!(LOCAL_SITES as readonly string[]).includes(site)) {
    throw new PccError(`--site ${site}: the local provider has the sites ${LOCAL_SITES.join(' and ')}`);
  }
  return site as LocalSite;
}

function isRunning(m: Machine): boolean {
  return isMachineProcess(m.pid, m.root);
}

/** A spec per site: hosts of the home segment and of the cloud segment are not interchangeable. */
interface LocalSpec {
  site: LocalSite;
}

const specKey = (site: LocalSite) => `cpu:${site}`;

async function list(ctx: ProviderContext): Promise<ListedHost[]> {
  const state = await ctx.state.read();
  const machines = readLocal(state)?.machines ?? {};
  return Object.entries(machines).map(([name, m]) => {
    const status = state.hosts[name]?.status;
    // Running once a run saw its sshd answer: a machine whose last start failed, or whose run was
    // killed while it waited for sshd (still `booting`), counts as stopped even if its nspawn lives
    // on, so the next acquire or resume boots it again and waits for it.
    const running = isRunning(m) && status === 'running';
    return {
      name,
      role: m.role,
      spec: m.role === 'compute' ? specKey(m.site ?? 'home') : 'controller',
      state: running ? 'running' : 'stopped',
      // Not running and not saved: a save killed between its power-offs (nspawn already gone, its
      // netns, mount and cgroups still there) or a crash. The next save powers it off properly.
      ...(!running && status !== 'saved' ? { unsaved: true } : {}),
    };
  });
}

async function spec(request: AcquireRequest): Promise<Spec<LocalSpec>> {
  if (request.type === 'gpu') {
    throw new PccError('the local provider has no GPU hosts; use --type cpu, or a provider with GPUs (ec2)');
  }
  const site = siteOf(request);
  return { key: specKey(site), label: `cpu (systemd-nspawn, ${site} segment)`, detail: { site } };
}

/** New compute hosts local<N> (cloud<N>): recorded (status `creating`) before any of them exists, then booted. */
async function create(s: Spec<LocalSpec>, count: number, ctx: ProviderContext): Promise<HostRecord[]> {
  const site = s.detail.site;
  if (ctx.dry) {
    const state = await ctx.state.read();
    const local = readLocal(state);
    const net = await networkFor(ctx, local);
    const used = takenAddresses(state, local);
    const taken = new Set<string>();
    for (let i = 0; i < count; i++) {
      const name = nextComputeName(state, taken, site);
      const address = site === 'cloud' ? allocateAddress(net.cloud, [...used, routerCloud(net)], 'LOCAL_CLOUD_SUBNET') : allocateAddress(net.home, used, 'LOCAL_SUBNET');
      taken.add(name);
      used.push(address);
      ctx.progress.host(name, `would create at ${address} on the ${site} segment (bridge ${site === 'cloud' ? net.cloudBridge : net.homeBridge})`);
    }
    return [];
  }
  requireTools(BOOT_TOOLS);
  const { net, base, key } = await prepare(ctx);
  const names = await ctx.state.update((state) => {
    const local = readLocal(state) ?? emptyLocal(net);
    local.cloudSubnet ??= net.cloud.cidr;
    const taken = new Set<string>();
    for (let i = 0; i < count; i++) {
      const name = nextComputeName(state, taken, site);
      taken.add(name);
      recordNewMachine(state, local, name, 'compute', site, ctx, net, base, key);
    }
    writeLocal(state, local);
    return [...taken];
  });
  await bringUpAll(names.map((name) => ({ name, fresh: true })), ctx, net, key);
  return hostsNamed(ctx, names);
}

/** Saved or crashed hosts boot again with their disks; a host killed before its first boot finished is made fresh. */
async function start(names: string[], ctx: ProviderContext): Promise<HostRecord[]> {
  if (ctx.dry) {
    const machines = readLocal(await ctx.state.read())?.machines ?? {};
    for (const name of names) ctx.progress.host(name, `would resume at ${machines[name]?.address}`);
    return [];
  }
  requireTools(BOOT_TOOLS);
  const { net, key } = await prepare(ctx);
  const state = await ctx.state.read();
  const items = names.map((name) => ({ name, fresh: state.hosts[name]?.hostKey === undefined }));
  await bringUpAll(items, ctx, net, key);
  return hostsNamed(ctx, names);
}

async function hostsNamed(ctx: ProviderContext, names: readonly string[]): Promise<HostRecord[]> {
  const state = await ctx.state.read();
  return names.flatMap((n) => (state.hosts[n] ? [state.hosts[n]] : []));
}

/** Power off and keep the disks; the bridges and router stay, holding the project's subnets for the resume. */
async function stop(names: string[], _request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]> {
  const machines = readLocal(await ctx.state.read())?.machines ?? {};
  if (ctx.dry) {
    for (const name of names) ctx.progress.host(name, 'would power off and keep its disk');
    return [];
  }
  await Promise.all(
    names.map(async (name) => {
      const m = machines[name];
      if (!m) return;
      ctx.progress.host(name, 'powering off');
      await powerOff(name, m);
      await ctx.state.update((state) => {
        patchMachine(state, name, { pid: undefined, startedAt: undefined, cgroups: [] });
        setHostStatus(state, name, 'saved');
      });
      ctx.progress.host(name, 'saved');
    }),
  );
  return hostsNamed(ctx, names);
}

/** Machines, their network, mounts and disks; each record goes once its machine is gone. */
async function terminate(names: string[], ctx: ProviderContext): Promise<string[]> {
  const machines = readLocal(await ctx.state.read())?.machines ?? {};
  if (ctx.dry) return names.map((name) => `machine ${name} (${machines[name]?.address}) and its disk ${machines[name]?.dir}`);
  const perMachine = await Promise.all(
    names.map(async (name) => {
      const m = machines[name];
      ctx.progress.host(name, 'destroying');
      const lines = m ? await removeMachine(name, m) : [];
      await ctx.state.update((state) => {
        const l = readLocal(state);
        if (l) delete l.machines[name];
        writeLocal(state, l);
        delete state.hosts[name];
      });
      ctx.progress.host(name, 'destroyed');
      return lines;
    }),
  );
  return perMachine.flat();
}

async function startController(ctx: ProviderContext): Promise<HostRecord> {
  const existing = (await ctx.state.read()).hosts[CONTROLLER_NAME];
  if (existing && existing.provider !== 'local') {
    throw new PccError(
      `the controller '${CONTROLLER_NAME}' already runs on ${existing.provider}; pcc destroy ${existing.provider} first to move it to local`,
    );
  }
  if (ctx.dry) {
    ctx.progress.host(CONTROLLER_NAME, existing ? 'would resume' : 'would create');
    if (existing) return existing;
    throw new PccError(`local: --dry cannot show a controller that does not exist yet; run without --dry to create it`);
  }
  const { net, base, key } = await prepare(ctx);
  const items = await ctx.state.update((state) => {
    const local = readLocal(state) ?? emptyLocal(net);
    local.cloudSubnet ??= net.cloud.cidr;
    const m = local.machines[CONTROLLER_NAME];
    if (m && isRunning(m)) return [];
    if (!m) recordNewMachine(state, local, CONTROLLER_NAME, 'controller', 'home', ctx, net, base, key);
    writeLocal(state, local);
    return [{ name: CONTROLLER_NAME, fresh: state.hosts[CONTROLLER_NAME]?.hostKey === undefined }];
  });
  await bringUpAll(items, ctx, net, key);
  return (await ctx.state.read()).hosts[CONTROLLER_NAME]!;
}

/** Everything local of this project: every machine, the segments and router, and host records without a machine. */
async function destroy(ctx: ProviderContext): Promise<DestroyReport> {
  const state = await ctx.state.read();
  const local = readLocal(state);
  const names = Object.keys(local?.machines ?? {});
  // The vm provider's VMs sit on the same bridges behind the same router: those stay while one is left (its destroy takes them).
  const vmsLeft = Object.values(state.hosts).some((h) => h.provider === 'vm');
  const sites = vmsLeft ? undefined : local ? sitesOf(local, ctx) : leftoverSites(ctx);
  if (ctx.dry) {
    const lines = (await terminate(names, ctx)).map((l) => `would remove ${l}`);
    if (sites) lines.push(`would remove bridges ${sites.homeBridge} and ${sites.cloudBridge} and router ${sites.router}`);
    return { removed: lines };
  }
  const removed = await terminate(names, ctx);
  if (sites) removed.push(...(await removeSites(sites)));
  removed.push(...(await removeProjectView(ctx.project.id)));
  // Host records without a machine (a state edited by hand, a crash between two writes).
  await ctx.state.update((state) => {
    for (const h of localHosts(state)) {
      delete state.hosts[h.name];
      removed.push(`host record ${h.name}`);
    }
    writeLocal(state, undefined);
  });
  for (const dir of [path.join(ctx.project.stateDir, 'local'), '/run/pcc/local']) {
    await rmdir(dir).catch(() => undefined);
  }
  return { removed };
}

async function status(ctx: ProviderContext): Promise<HostStatus[]> {
  const state = await ctx.state.read();
  const machines = readLocal(state)?.machines ?? {};
  return localHosts(state).map((h) => {
    const m = machines[h.name];
    const running = m !== undefined && isRunning(m);
    return {
      name: h.name,
      provider: 'local' as const,
      state: running ? 'running' : h.status === 'saved' || h.status === 'failed' ? h.status : 'stopped',
      ...(running && m.startedAt ? { since: m.startedAt } : {}),
      // A machine on this computer costs nothing by the hour.
      ...(running ? { usdPerHour: 0 } : {}),
      address: h.address,
      groups: h.groups,
    };
  });
}

export const localProvider: Provider<LocalSpec> & { initController(ctx: ProviderContext): Promise<HostRecord> } = {
  name: 'local',
  // Checked before the lock and the project id exist: a reconcile may boot hosts.
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
  initController: (ctx) => exclusively(ctx, BOOT_TOOLS, () => startController(ctx)),
  createVolume,
  deleteVolume,
  attachVolume,
  volumeUsdPerMonth: () => 0,
};

export const initController = localProvider.initController;
