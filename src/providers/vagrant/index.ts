import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../../core/errors.js';
import type { HostRecord, State } from '../../state/schema.js';
import type { ListedHost, Spec } from '../types.js';
import type { AcquireRequest, DestroyReport, HostStatus, Provider, ProviderContext, SaveRequest } from '../types.js';
import { vagrantCommands } from './commands.js';
import { ensureUserKey, type UserKey } from '../../core/user-key.js';
import { vagrantPaths, writeVagrantFolder } from './folder.js';
import {
  CONTROLLER_MOUNTS,
  CONTROLLER_NAME,
  controllerMachine,
  hostGroupsFor,
  isVagrantHost,
  newComputeMachines,
  readMachines,
  resumableMachines,
  writeMachines,
  type Machine,
} from './machines.js';
import { vagrantNetwork, type VagrantNetwork } from './network.js';
import { machineStates, parseSshConfig, progressLine, vagrantErrorSummary } from './parse.js';
import { runVagrant } from './run.js';
import { missingTool, requireTools } from './tools.js';

/**
 * VirtualBox machines through vagrant: the controller `init` (`pcc init`, the
 * default) and compute machines `vagrant`, `vagrant2`, ... (`pcc acquire
 * vagrant`). pcc renders the Vagrantfile, runs vagrant, and records what
 * `vagrant ssh-config` reports; it never opens SSH itself.
 */
export const vagrantProvider: Provider<VagrantSpec> = {
  name: 'vagrant',
  initController,
  list,
  spec,
  create,
  start,
  stop,
  terminate,
  destroy,
  status,
  priceOf: async () => ({ usdPerHour: 0 }),
  priceOfHost: async () => 0,
};

interface VagrantSpec {
  type: 'cpu' | 'gpu';
}

async function initController(ctx: ProviderContext): Promise<HostRecord> {
  if (!ctx.dry) requireTools();
  const net = vagrantNetwork(ctx.settings);
  const key = await ensureUserKey(ctx.project, ctx.settings);
  const plan = (state: State) => {
    const other = state.hosts[CONTROLLER_NAME];
    if (other && other.provider !== 'vagrant') {
      throw new PccError(`a controller '${CONTROLLER_NAME}' from the ${other.provider} provider exists; run pcc destroy ${other.provider} first`);
    }
    const machines = readMachines(state);
    const existing = machines.find((m) => m.name === CONTROLLER_NAME);
    if (existing && existing.ip !== net.controllerIp) {
      ctx.progress.warn(
        `the controller keeps ${existing.ip}; VAGRANT_CONTROLLER_IP=${net.controllerIp} applies after pcc destroy vagrant and pcc init`,
      );
    }
    return existing ? machines : [controllerMachine(net), ...machines];
  };
  const controllerOf = (machines: Machine[]) => machines.find((m) => m.name === CONTROLLER_NAME)!;

  if (ctx.dry) {
    const machines = plan(await ctx.state.read());
    await reportPlan(ctx, machines, [controllerOf(machines)], key, net);
    return plannedRecord(controllerOf(machines), ctx);
  }
  const machines = await ctx.state.update((state) => {
    const next = plan(state);
    writeMachines(state, next);
    return next;
  });
  await writeVagrantFolder(ctx, machines, key, net);
  const [record] = await bringUp(ctx, [controllerOf(machines)]);
  return record!;
}

/** A machine is running once `vagrant up` recorded it so; saved, halted and never-finished ones can start again. */
async function list(ctx: ProviderContext): Promise<ListedHost[]> {
  const state = await ctx.state.read();
  const resumable = new Set(names(resumableMachines(state, readMachines(state))));
  return readMachines(state).map((m) => ({
    name: m.name,
    role: m.role,
    spec: m.role === 'controller' ? 'controller' : m.type,
    state: resumable.has(m.name) ? 'stopped' : 'running',
  }));
}

async function spec(request: AcquireRequest, ctx: ProviderContext): Promise<Spec<VagrantSpec>> {
  if (request.type === 'gpu') {
    ctx.progress.warn('VirtualBox has no GPU passthrough: vagrant gpu machines have no GPU (setup will group them as cpu)');
  }
  return { key: request.type, label: `${request.type} (VirtualBox)`, detail: { type: request.type } };
}

async function create(s: Spec<VagrantSpec>, count: number, ctx: ProviderContext): Promise<HostRecord[]> {
  const net = vagrantNetwork(ctx.settings);
  const grow = (state: State) => {
    const machines = readMachines(state);
    const fresh = newComputeMachines(state, machines, net, s.detail.type, count);
    return { all: [...machines, ...fresh], fresh };
  };
  return upMachines(ctx, grow);
}

async function start(hosts: string[], ctx: ProviderContext): Promise<HostRecord[]> {
  const pick = (state: State) => {
    const all = readMachines(state);
    return { all, fresh: all.filter((m) => hosts.includes(m.name)) };
  };
  return upMachines(ctx, pick);
}

/** Records the machines (before vagrant runs, so destroy finds them after a crash), renders the folder, runs `vagrant up`. */
async function upMachines(ctx: ProviderContext, choose: (state: State) => { all: Machine[]; fresh: Machine[] }): Promise<HostRecord[]> {
  const net = vagrantNetwork(ctx.settings);
  const key = await ensureUserKey(ctx.project, ctx.settings);
  if (ctx.dry) {
    const p = choose(await ctx.state.read());
    await reportPlan(ctx, p.all, p.fresh, key, net);
    return [];
  }
  requireTools();
  const p = await ctx.state.update((state) => {
    const next = choose(state);
    writeMachines(state, next.all);
    return next;
  });
  await writeVagrantFolder(ctx, p.all, key, net);
  return bringUp(ctx, p.fresh);
}

async function stop(hosts: string[], request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]> {
  if (request.snapshot) ctx.progress.warn('--snapshot is for ec2; vagrant suspends (or with --halt, halts) its machines');
  const argv = request.halt ? vagrantCommands.halt(hosts) : vagrantCommands.suspend(hosts);
  if (ctx.dry) {
    ctx.progress.note(`vagrant: would run: ${argv.join(' ')}`);
    return [];
  }
  requireTools();
  await runWithProgress(ctx, argv, hosts);
  const saved = request.halt ? 'poweroff' : 'saved';
  return ctx.state.update((s) =>
    hosts.flatMap((n) => {
      const host = s.hosts[n];
      if (!host) return [];
      host.status = saved;
      return [host];
    }),
  );
}

/** `vagrant destroy -f NAME...`, then the machines leave the Vagrantfile and the state. */
async function terminate(hosts: string[], ctx: ProviderContext): Promise<string[]> {
  const state = await ctx.state.read();
  const ipOf = new Map(readMachines(state).map((m) => [m.name, m.ip]));
  const removed = hosts.map((n) => `vagrant machine ${n}${ipOf.has(n) ? ` (${ipOf.get(n)})` : ''}`);
  const argv = vagrantCommands.destroy(hosts);
  if (ctx.dry) return removed;
  const paths = vagrantPaths(ctx.project);
  if (existsSync(paths.vagrantfile)) {
    requireTools();
    await runWithProgress(ctx, argv, hosts);
  }
  const left = await ctx.state.update((s) => {
    for (const n of hosts) delete s.hosts[n];
    const rest = readMachines(s).filter((m) => !hosts.includes(m.name));
    writeMachines(s, rest);
    return rest;
  });
  if (left.length > 0) await writeVagrantFolder(ctx, left, await ensureUserKey(ctx.project, ctx.settings), vagrantNetwork(ctx.settings));
  return removed;
}

async function destroy(ctx: ProviderContext): Promise<DestroyReport> {
  const paths = vagrantPaths(ctx.project);
  const state = await ctx.state.read();
  const machines = readMachines(state);
  const hostNames = Object.values(state.hosts).filter(isVagrantHost).map((h) => h.name);
  const all = [...new Set([...names(machines), ...hostNames])];
  const ipOf = new Map(machines.map((m) => [m.name, m.ip]));
  const removed = all.map((n) => `vagrant machine ${n}${ipOf.has(n) ? ` (${ipOf.get(n)})` : ''}`);
  if (all.length === 0 && !existsSync(paths.dir)) return { removed: [] };

  const argv = vagrantCommands.destroy([]);
  if (ctx.dry) {
    if (machines.length > 0) ctx.progress.note(`vagrant: would run: ${argv.join(' ')}`);
    ctx.progress.note(`vagrant: would remove ${rel(ctx, paths.dir)}/ and ${all.length} host records; ${rel(ctx, paths.registryDir)}/ stays`);
    return { removed: [...removed.map((l) => `would remove ${l}`), `would remove ${rel(ctx, paths.dir)}/`] };
  }
  if (machines.length > 0) {
    if (existsSync(paths.vagrantfile)) {
      requireTools();
      await runWithProgress(ctx, argv, names(machines));
    } else {
      ctx.progress.warn(`${rel(ctx, paths.vagrantfile)} is gone, so vagrant cannot find its VMs; check VBoxManage list vms for leftovers`);
    }
  }
  await ctx.state.update((s) => {
    for (const h of Object.values(s.hosts)) if (isVagrantHost(h)) delete s.hosts[h.name];
    writeMachines(s, []);
  });
  await rm(paths.dir, { recursive: true, force: true });
  return { removed };
}

async function status(ctx: ProviderContext): Promise<HostStatus[]> {
  const hosts = Object.values((await ctx.state.read()).hosts).filter(isVagrantHost);
  if (hosts.length === 0) return [];
  const view = (h: HostRecord, state: string): HostStatus => ({
    name: h.name,
    provider: 'vagrant',
    state,
    // A VM on this computer costs nothing by the hour.
    ...(state === 'running' ? { usdPerHour: 0 } : {}),
    address: h.port === 22 ? h.address : `${h.address}:${h.port}`,
    groups: h.groups,
  });
  const recorded = () => hosts.map((h) => view(h, h.status ?? 'unknown'));

  const paths = vagrantPaths(ctx.project);
  const missing = missingTool();
  if (missing || !existsSync(paths.vagrantfile)) {
    ctx.progress.warn(`vagrant: showing recorded states: ${missing ?? `${rel(ctx, paths.vagrantfile)} is missing`}`);
    return recorded();
  }
  const result = await runVagrant(vagrantCommands.status(), paths.dir, { allowFail: true });
  if (result.exitCode !== 0) {
    ctx.progress.warn(`vagrant status failed, showing recorded states: ${vagrantErrorSummary(result.stderr, result.stdout)}`);
    return recorded();
  }
  const states = machineStates(result.stdout);
  return hosts.map((h) => view(h, states.get(h.name) ?? h.status ?? 'unknown'));
}

/** `vagrant up` the machines, then record what `vagrant ssh-config` says about them. */
async function bringUp(ctx: ProviderContext, machines: readonly Machine[]): Promise<HostRecord[]> {
  const dir = vagrantPaths(ctx.project).dir;
  const targets = names(machines);
  await runWithProgress(ctx, vagrantCommands.up(targets), targets);
  const { stdout } = await runVagrant(vagrantCommands.sshConfig(targets), dir);
  const endpoints = new Map(parseSshConfig(stdout).map((e) => [e.name, e]));
  const missing = targets.filter((n) => !endpoints.has(n));
  if (missing.length > 0) {
    throw new PccError(`vagrant ssh-config reported nothing for ${missing.join(', ')}; run \`vagrant status\` in ${rel(ctx, dir)} to see why`);
  }
  const now = new Date().toISOString();
  return ctx.state.update((state) =>
    machines.map((m) => {
      const ep = endpoints.get(m.name)!;
      const prev = state.hosts[m.name];
      const record: HostRecord = {
        ...prev,
        name: m.name,
        address: ep.address,
        port: ep.port,
        user: ep.user,
        key: ep.key,
        provider: 'vagrant',
        groups: hostGroupsFor(m),
        providerId: m.name,
        status: 'running',
        createdAt: prev?.createdAt ?? now,
        // The VMs sit on the user's machine, behind its NAT, and reach each other on the host-only network.
        site: 'home',
        dialable: false,
        siteAddress: m.ip,
        ...controllerPaths(m),
        meta: { ...withoutKey(prev?.meta, 'lanAddress'), ...machineMeta(m, ctx) },
      };
      if (record.key === undefined) delete record.key;
      state.hosts[m.name] = record;
      return record;
    }),
  );
}

/** Where the controller VM sees the project and keeps the registry (Vagrant's synced folders), and what it exports. */
function controllerPaths(m: Machine): Pick<HostRecord, 'exportPath' | 'projectShare' | 'registryStorage'> {
  return m.role === 'controller'
    ? { exportPath: CONTROLLER_MOUNTS.export, projectShare: CONTROLLER_MOUNTS.project, registryStorage: CONTROLLER_MOUNTS.registry }
    : {};
}

function machineMeta(m: Machine, ctx: ProviderContext): Record<string, string> {
  const meta: Record<string, string> = {
    role: m.role,
    box: ctx.settings.values.VAGRANT_BOX,
  };
  return meta;
}

function withoutKey(meta: Record<string, string> | undefined, key: string): Record<string, string> {
  const { [key]: _gone, ...rest } = meta ?? {};
  return rest;
}

/** Streams vagrant's output line by line to the machine each line is about. */
async function runWithProgress(ctx: ProviderContext, argv: string[], machines: readonly string[]): Promise<void> {
  const known = new Set(machines);
  const last = new Map<string, string>();
  await runVagrant(argv, vagrantPaths(ctx.project).dir, {
    onLine: (line) => {
      if (line.trim() === '') return;
      const p = progressLine(line, known);
      last.set(p.machine ?? 'vagrant', p.message);
      ctx.progress.host(p.machine ?? 'vagrant', p.message);
    },
  });
  // vagrant finished without an error (it throws otherwise): each machine's last line ended its step.
  for (const [machine, message] of last) ctx.progress.host(machine, message, 'ok');
}

/** `--dry`: write the Vagrantfile and Ignition configs, say what would run, run nothing. */
async function reportPlan(
  ctx: ProviderContext,
  machines: readonly Machine[],
  up: readonly Machine[],
  key: UserKey,
  net: VagrantNetwork,
): Promise<void> {
  const missing = missingTool();
  if (missing) ctx.progress.warn(missing);
  const file = await writeVagrantFolder(ctx, machines, key, net);
  const v = ctx.settings.values;
  ctx.progress.note(`vagrant: wrote ${rel(ctx, file)} (${names(machines).join(', ')})`);
  for (const m of up) {
    const kind = m.role === 'controller' ? 'controller' : m.type;
    ctx.progress.note(`vagrant: ${m.name}: ${kind}, ${m.ip}, ${v.VAGRANT_CPUS} CPUs, ${v.VAGRANT_MEMORY} MiB, box ${v.VAGRANT_BOX}`);
  }
  if (up.length > 0) {
    ctx.progress.note(`vagrant: would run: ${vagrantCommands.up(names(up)).join(' ')}, then vagrant ssh-config`);
  }
}

function plannedRecord(m: Machine, ctx: ProviderContext): HostRecord {
  return {
    name: m.name,
    address: m.ip,
    port: 22,
    user: 'core',
    provider: 'vagrant',
    groups: hostGroupsFor(m),
    providerId: m.name,
    status: 'planned',
    createdAt: new Date().toISOString(),
    ...controllerPaths(m),
    meta: machineMeta(m, ctx),
  };
}

function names(machines: readonly Machine[]): string[] {
  return machines.map((m) => m.name);
}

function rel(ctx: ProviderContext, p: string): string {
  return path.relative(ctx.project.root, p) || p;
}
