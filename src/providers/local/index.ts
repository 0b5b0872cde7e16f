import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { PccError, errorMessage } from '../../core/errors.js';
import { expandHome } from '../../core/project.js';
import type { HostRecord, State } from '../../state/schema.js';
import type { AcquireRequest, DestroyReport, HostStatus, Provider, ProviderContext, SaveRequest } from '../types.js';
import { basePath, ensureBase } from './base.js';
import {
  checkNetworkSettings,
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
  LOCAL_SITES,
  netnsName,
  parseSubnet,
  routerCloudAddress,
  routerName,
  vethName,
  type LocalSite,
  type Sites,
} from './network.js';
import { requireRoot, requireTools } from './preflight.js';

/** Where the controller sees the exported project folder and keeps registry storage. */
export const CONTROLLER_NAME = 'init';
export const CONTROLLER_EXPORT = '/project-export';
export const CONTROLLER_REGISTRY_STORAGE = '/var/lib/docker-registry';

const COMPUTE_GROUPS = ['local', 'cpu'];
/** Cloud-segment hosts are also group `cloud`, so `pcc setup cloud` and `local:&cloud` work. */
const CLOUD_GROUP = 'cloud';
const CONTROLLER_GROUPS = ['init', 'controller'];
const BOOT_TIMEOUT_MS = 60_000;
const BOOT_TOOLS = ['systemd-nspawn', 'ip', 'iptables', 'ssh-keygen', 'mount'];
const STOP_TOOLS = ['ip', 'mount'];

function networkSettings(ctx: ProviderContext): Sites {
  const home = parseSubnet(ctx.settings.values.LOCAL_SUBNET);
  const cloud = parseSubnet(ctx.settings.values.LOCAL_CLOUD_SUBNET, 'LOCAL_CLOUD_SUBNET');
  if (home.cidr === cloud.cidr) {
    throw new PccError(`LOCAL_CLOUD_SUBNET=${cloud.cidr} is LOCAL_SUBNET too; give the simulated internet a subnet of its own, e.g. 10.212.0.0/24`);
  }
  return { home, homeBridge: bridgeName(home, ctx.settings.values.LOCAL_BRIDGE), cloud, cloudBridge: bridgeName(cloud), router: routerName(home) };
}

type Net = Sites;

function emptyLocal(net: Net): LocalState {
  return { subnet: net.home.cidr, bridge: net.homeBridge, cloudSubnet: net.cloud.cidr, machines: {} };
}

function check(local: LocalState | undefined, net: Net): void {
  checkNetworkSettings(local, net.home.cidr, net.homeBridge, net.cloud.cidr);
}

function baseCacheDir(ctx: ProviderContext): string {
  return path.resolve(expandHome(ctx.settings.values.LOCAL_BASE_CACHE, ctx.project.home));
}

/** Settings that agree with the existing hosts, the user's key and the base: all before any host is created. */
async function prepare(ctx: ProviderContext): Promise<{ net: Net; base: string; key: UserKey }> {
  const net = networkSettings(ctx);
  const cacheDir = baseCacheDir(ctx);
  if (!existsSync(basePath(cacheDir))) requireTools(['debootstrap']);
  check(readLocal(await ctx.state.read()), net);
  const key = await ensureUserKey(ctx.project, ctx.settings);
  const base = await ensureBase({ cacheDir, mirror: ctx.settings.values.LOCAL_MIRROR, progress: ctx.progress });
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
  let release: () => Promise<void>;
  try {
    // Keyed by its own path: proper-lockfile tracks in-process locks by the
    // locked file, and the state store already locks the state dir itself.
    release = await lockfile.lock(path.join(ctx.project.stateDir, 'local'), {
      realpath: false,
      stale: 30_000,
      // A base build (first run only) can take minutes.
      retries: { retries: 600, factor: 1, minTimeout: 1000, maxTimeout: 1000 },
    });
  } catch (err) {
    throw new PccError(`local: another pcc run is changing local hosts in this project; wait for it (${errorMessage(err)})`);
  }
  try {
    return await fn();
  } finally {
    await release();
  }
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
  const used = Object.values(local.machines).map((m) => m.address);
  const address = cloud ? allocateAddress(net.cloud, [...used, routerCloud(net)], 'LOCAL_CLOUD_SUBNET') : allocateAddress(net.home, used);
  const netns = netnsName(name, address);
  local.machines[name] = {
    role,
    site,
    address,
    netns,
    veth: vethName(address),
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
    meta: { netns, ...(role === 'controller' ? { exportPath: CONTROLLER_EXPORT, registryStorage: CONTROLLER_REGISTRY_STORAGE } : {}) },
  };
}

function setHostStatus(state: State, name: string, status: string, meta: Record<string, string> = {}): void {
  const h = state.hosts[name];
  if (h) state.hosts[name] = { ...h, status, meta: { ...h.meta, ...meta } };
}

/** The controller's extra view of this computer: the project to export, and registry storage that outlives it. */
async function controllerExtras(ctx: ProviderContext, m: Machine): Promise<BootExtras> {
  const registryDir = path.join(ctx.project.stateDir, 'registry');
  await mkdir(registryDir, { recursive: true, mode: 0o755 });
  const owner = passwdEntry(path.join(m.base, 'etc/passwd'), 'docker-registry');
  if (owner) await chown(registryDir, owner.uid, owner.gid);
  return {
    binds: [`${ctx.project.root}:${CONTROLLER_EXPORT}`, `${registryDir}:${CONTROLLER_REGISTRY_STORAGE}`],
    // pcc's own files (keys, state, the hosts' disks) are not part of the export.
    tmpfs: [`${CONTROLLER_EXPORT}/.pcc`],
    // ganesha exports by file handle.
    syscalls: ['open_by_handle_at'],
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
  await ensureHostNetwork(m, net);
  await ensureRootMounted(m);
  const meta: Record<string, string> = {};
  if (fresh) {
    const registries = [net.home.cidr, ctx.settings.values.OVERLAY_SUBNET];
    // host[:port] only: anything else in daemon.json keeps dockerd from starting.
    const registryHost = ctx.settings.values.REGISTRY_HOST;
    if (registryHost && /^[A-Za-z0-9.-]+(:\d+)?$/.test(registryHost)) registries.push(registryHost);
    meta.hostKey = await writeFirstBootFiles(m, { name, publicKey: key.publicKey, insecureRegistries: registries });
  }
  const extras = m.role === 'controller' ? await controllerExtras(ctx, m) : {};
  ctx.progress.host(name, 'booting');
  await boot(name, m, extras, {
    timeoutMs: BOOT_TIMEOUT_MS,
    onStarted: (b) =>
      ctx.state.update((state) => {
        patchMachine(state, name, b);
        setHostStatus(state, name, 'booting', meta);
      }),
  });
  await ctx.state.update((state) => setHostStatus(state, name, 'running'));
  ctx.progress.host(name, `running at ${m.address}`);
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
  return { home, homeBridge: local.bridge, cloud, cloudBridge: bridgeName(cloud), router: routerName(home) };
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

async function acquire(request: AcquireRequest, ctx: ProviderContext): Promise<HostRecord[]> {
  if (request.type === 'gpu') {
    throw new PccError('the local provider has no GPU hosts; use --type cpu, or a provider with GPUs (ec2)');
  }
  const site = siteOf(request);
  if (ctx.dry) return planAcquire(request, site, ctx);
  const { net, base, key } = await prepare(ctx);

  // --count is how many compute hosts of that site there should be: saved ones come back first, new ones fill up.
  const plan = await ctx.state.update((state) => {
    const local = readLocal(state) ?? emptyLocal(net);
    check(local, net);
    local.cloudSubnet ??= net.cloud.cidr;
    const items = Object.entries(local.machines)
      .filter(([, m]) => !isRunning(m))
      .map(([name]) => ({ name, fresh: state.hosts[name]?.meta.hostKey === undefined }));
    const computeCount = Object.values(local.machines).filter((m) => m.role === 'compute' && m.site === site).length;
    const taken = new Set<string>();
    for (let i = computeCount; i < (request.resumeOnly ? 0 : request.count); i++) {
      const name = nextComputeName(state, taken, site);
      taken.add(name);
      recordNewMachine(state, local, name, 'compute', site, ctx, net, base, key);
      items.push({ name, fresh: true });
    }
    writeLocal(state, local);
    return items;
  });
  await bringUpAll(plan, ctx, net, key);
  const state = await ctx.state.read();
  return localHosts(state).filter((h) => h.status === 'running');
}

async function planAcquire(request: AcquireRequest, site: LocalSite, ctx: ProviderContext): Promise<HostRecord[]> {
  const net = networkSettings(ctx);
  const state = await ctx.state.read();
  const local = readLocal(state);
  const machines = Object.entries(local?.machines ?? {});
  for (const [name, m] of machines) if (!isRunning(m)) ctx.progress.host(name, `would resume at ${m.address}`);
  const computeCount = machines.filter(([, m]) => m.role === 'compute' && m.site === site).length;
  const used = machines.map(([, m]) => m.address);
  const taken = new Set<string>();
  for (let i = computeCount; i < request.count; i++) {
    const name = nextComputeName(state, taken, site);
    const address = site === 'cloud' ? allocateAddress(net.cloud, [...used, routerCloud(net)], 'LOCAL_CLOUD_SUBNET') : allocateAddress(net.home, used);
    taken.add(name);
    used.push(address);
    ctx.progress.host(name, `would create at ${address} on the ${site} segment (bridge ${site === 'cloud' ? net.cloudBridge : net.homeBridge})`);
  }
  return localHosts(state);
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
    return [{ name: CONTROLLER_NAME, fresh: state.hosts[CONTROLLER_NAME]?.meta.hostKey === undefined }];
  });
  await bringUpAll(items, ctx, net, key);
  return (await ctx.state.read()).hosts[CONTROLLER_NAME]!;
}

async function save(_request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]> {
  const local = readLocal(await ctx.state.read());
  const machines = Object.entries(local?.machines ?? {});
  if (ctx.dry) {
    for (const [name] of machines) ctx.progress.host(name, 'would power off and keep its disk');
    return [];
  }
  await Promise.all(
    machines.map(async ([name, m]) => {
      ctx.progress.host(name, 'powering off');
      await powerOff(name, m);
      await ctx.state.update((state) => {
        patchMachine(state, name, { pid: undefined, startedAt: undefined, cgroups: [] });
        setHostStatus(state, name, 'saved');
      });
      ctx.progress.host(name, 'saved');
    }),
  );
  if (local) await removeSites(sitesOf(local, ctx));
  return localHosts(await ctx.state.read()).filter((h) => h.status === 'saved');
}

async function destroy(ctx: ProviderContext): Promise<DestroyReport> {
  const state0 = await ctx.state.read();
  const local = readLocal(state0);
  const machines = Object.entries(local?.machines ?? {});
  if (ctx.dry) {
    return { removed: machines.map(([name, m]) => `would remove machine ${name} (${m.address}) and its disk ${m.dir}`) };
  }
  const perMachine = await Promise.all(
    machines.map(async ([name, m]) => {
      ctx.progress.host(name, 'destroying');
      const lines = await removeMachine(name, m);
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
  const removed = perMachine.flat();
  if (local) removed.push(...(await removeSites(sitesOf(local, ctx))));
  // Host records without a machine (a state edited by hand, a crash between two writes).
  await ctx.state.update((state) => {
    for (const h of localHosts(state)) {
      delete state.hosts[h.name];
      removed.push(`host record ${h.name}`);
    }
    writeLocal(state, undefined);
  });
  for (const dir of [path.join(ctx.project.stateDir, 'local'), '/run/pcc/local', '/run/pcc']) {
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
      address: h.address,
      groups: h.groups,
    };
  });
}

export const localProvider: Provider & { initController(ctx: ProviderContext): Promise<HostRecord> } = {
  name: 'local',
  acquire: (request, ctx) => exclusively(ctx, BOOT_TOOLS, () => acquire(request, ctx)),
  save: (request, ctx) => exclusively(ctx, STOP_TOOLS, () => save(request, ctx)),
  destroy: (ctx) => exclusively(ctx, STOP_TOOLS, () => destroy(ctx)),
  status,
  initController: (ctx) => exclusively(ctx, BOOT_TOOLS, () => startController(ctx)),
};

export const initController = localProvider.initController;
