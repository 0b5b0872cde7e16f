import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostFailedError, PccError, UnreachableError, UserInputError } from '../core/errors.js';
import type { Project } from '../core/project.js';
import { CONTROLLER, SWARM_NETWORK } from '../fleet/cluster.js';
import { connectorFor } from '../fleet/connect.js';
import { discoverImages } from '../images/discover.js';
import { registryImageCuda } from '../gpu/image-cuda.js';
import type { ImageCudaNeed } from '../gpu/cuda.js';
import { isPlainHttpHost, splitHostPort } from '../images/registry.js';
import { openTunnel } from '../remote/tunnel.js';
import type { Connection } from '../remote/connection.js';
import { quote, renderCommand, type Command } from '../remote/shell.js';
import type { Settings } from '../settings/load.js';
import type { State } from '../state/schema.js';
import type { StateStore } from '../state/store.js';
import { manifestInspect, NOT_A_SWARM_MANAGER, serviceCreate, serviceLogs, serviceRemove, swarmSnapshot } from './builders.js';
import { resolveJobImage } from './image.js';
import { cudaPlacement, inRegistry } from './cuda-check.js';
import { checkGpus, placementFor, type Placement } from './placement.js';
import { unsharedProjectWarning } from './project-share.js';
import { checkJobRequest, defaultJobName, type JobRequest, type JobSpec } from './spec.js';
import { nameTakenMessage, parseSnapshot, viewJob, type JobView, type SwarmSnapshot } from './swarm-view.js';

/** The controller runs, but no swarm is formed there yet. */
/** The controller manages no swarm yet: the fix is pcc setup. */
export class NoSwarmError extends UserInputError {}

export interface JobContext {
  project: Project;
  settings: Settings;
  state: StateStore;
}

/**
 * The swarm manager is the controller. Every job command is a few docker
 * commands there, over the same SSH connections and host-key checks as the
 * rest of pcc; nothing of a job lives in pcc's process, so jobs outlive it.
 */
export class Manager {
  private constructor(
    private readonly conn: Connection,
    readonly state: State,
  ) {}

  static async open(ctx: JobContext): Promise<Manager> {
    const state = await ctx.state.read();
    const controller = state.hosts[CONTROLLER];
    if (!controller) throw new PccError('no controller yet, so no swarm to run jobs on; run pcc init (or pcc up) first');
    try {
      const conn = await (await connectorFor(ctx.project, ctx.settings))(controller);
      return new Manager(conn, state);
    } catch (err) {
      if (err instanceof UnreachableError) throw new UnreachableError(CONTROLLER, `the swarm manager ${CONTROLLER} cannot be reached: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** Runs as root (sudo for other users), as docker needs. */
  async run(command: Command): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.conn.script(renderCommand(command), { become: true });
  }

  /**
   * Streams a command's output. Its stdin stays open until `stop`, and the
   * remote side kills the command when stdin ends, so a follow that pcc
   * stops (or a pcc that dies) leaves nothing running on the manager.
   */
  stream(command: Command, onOutput: (chunk: string) => void): { done: Promise<number>; stop: () => void } {
    const inner = command.argv.map(quote).join(' ');
    // The command goes to the background, `cat` holds stdin in the foreground: sh gives a background
    // list /dev/null for stdin, so the watch must not be the one in the background.
    const watchdog = `${inner} & p=$!; cat >/dev/null; kill $p 2>/dev/null`;
    // A stdin of our own that stays open until `stop` (without one, ssh ends stdin at once and `cat` with it).
    const stdin = new PassThrough();
    const done = this.conn.exec(this.conn.asRoot(`sh -c ${quote(watchdog)}`), { stdin, onOutput }).then(
      (r) => r.code,
      () => 0,
    );
    return {
      done,
      stop: () => {
        stdin.end();
        setTimeout(() => this.conn.close(), 500).unref();
      },
    };
  }

  /**
   * The CUDA an image in the project's registry needs, from its config (no
   * pull). The registry listens on the overlay, so a plain-HTTP one is read
   * through this connection to the manager, as pcc build pushes.
   */
  async imageCuda(registryHost: string, name: string, reference: string): Promise<ImageCudaNeed | undefined> {
    if (!isPlainHttpHost(registryHost)) return registryImageCuda({ host: registryHost, source: 'REGISTRY_HOST', plainHttp: false }, name, reference);
    const { hostname, port } = splitHostPort(registryHost);
    const tunnel = await openTunnel(this.conn, hostname, port ?? 5000);
    try {
      return await registryImageCuda({ host: tunnel.local, source: `the registry, through SSH to ${CONTROLLER}`, plainHttp: true }, name, reference, { shownAs: registryHost });
    } finally {
      await tunnel.close();
    }
  }

  async snapshot(job?: string): Promise<SwarmSnapshot> {
    const r = await this.run(swarmSnapshot(job));
    if (r.code !== 0) {
      if (r.code === NOT_A_SWARM_MANAGER) throw new NoSwarmError(`${CONTROLLER} is not a swarm manager yet; run pcc setup all to form the swarm`);
      const why = r.stderr.trim().split('\n').at(-1) || `exit ${r.code}`;
      throw new HostFailedError(`${CONTROLLER}: cannot read the swarm: ${why}`);
    }
    return parseSnapshot(r.stdout);
  }

  close(): void {
    this.conn.close();
  }
}

export async function withManager<T>(ctx: JobContext, use: (m: Manager) => Promise<T>): Promise<T> {
  const manager = await Manager.open(ctx);
  try {
    return await use(manager);
  } finally {
    manager.close();
  }
}

/** `$REGISTRY_HOST` as the hosts see it: the hub's overlay address, unless configured. */
function registryHostOf(ctx: JobContext, state: State): string {
  const configured = ctx.settings.values.REGISTRY_HOST?.trim();
  if (configured) return configured;
  const address = state.hosts[CONTROLLER]?.overlayAddress;
  if (!address) throw new PccError(`${CONTROLLER} has no overlay address yet; run pcc setup all`);
  return `${address}:${ctx.settings.values.REGISTRY_PORT}`;
}

export interface Submitted {
  spec: JobSpec;
  serviceId: string;
  hosts: string[];
}

/**
 * Everything that can be refused is checked before `service create`: flags,
 * name in use, the pattern, GPUs, the image. Then one create, and pcc is done.
 */
export async function submitJob(
  request: JobRequest,
  ctx: JobContext,
  manager: Manager,
  /** What the user should know before the job runs on without pcc. */
  warn: (message: string) => void,
): Promise<Submitted> {
  checkJobRequest(request);
  const snapshot = await manager.snapshot();
  const name = request.name ?? defaultJobName(request.image);
  const taken = snapshot.jobs.find((j) => j.name === name);
  // The rerun of a job run that was cut off finds its own job: the message says to follow it (see nameTakenMessage).
  if (taken) throw new PccError(nameTakenMessage(viewJob(taken, snapshot), request.image));
  const placement = placementFor(request.on, Object.values(manager.state.hosts), snapshot.nodes);
  checkGpus(request.gpus, placement, snapshot.nodes);
  const unshared = unsharedProjectWarning(request.command, placement.nodes);
  if (unshared) warn(unshared);
  const { folders } = discoverImages(ctx.project.dockerDir, ctx.project.root);
  const registryHost = registryHostOf(ctx, manager.state);
  const image = resolveJobImage(request.image, folders, manager.state, registryHost);
  if (!image.pinned) {
    const host = image.ref.split('/')[0]!;
    const probe = await manager.run(manifestInspect(image.ref, image.ref.includes('/') && isPlainHttpHost(host)));
    if (probe.code !== 0) {
      const why = (probe.stderr || probe.stdout).trim().split('\n').at(-1) ?? `exit ${probe.code}`;
      throw new PccError(`image ${request.image}: ${CONTROLLER} cannot find it in its registry (${why}); check the name, or pcc build`);
    }
  }
  const excluded = request.gpus ? await checkCuda(request.gpus, request.image, image.ref, registryHost, placement, manager, warn) : [];
  const constraints = [...placement.constraints, ...excluded.map((h) => `node.labels.pcc.host!=${h}`)];
  const spec: JobSpec = {
    name,
    imageAsGiven: request.image,
    image: image.ref,
    command: request.command,
    replicas: request.replicas,
    parallel: Math.min(request.parallel ?? request.replicas, request.replicas),
    retries: request.retries,
    constraints,
    gpus: request.gpus,
    cpus: request.cpus,
    memory: request.memory,
    env: request.env,
    network: snapshot.networks.includes(SWARM_NETWORK) ? SWARM_NETWORK : undefined,
  };
  const created = await manager.run(serviceCreate(spec));
  if (created.code !== 0) {
    throw new PccError(`job ${name}: swarm refused it: ${created.stderr.trim().split('\n').at(-1) ?? `exit ${created.code}`}`);
  }
  return { spec, serviceId: created.stdout.trim(), hosts: placement.nodes.map((n) => n.host).filter((h) => !excluded.includes(h)).sort() };
}

/**
 * The driver/CUDA check (src/gpu/cuda.ts): an image whose CUDA is newer than
 * every GPU host's driver runs (their `pcc.cuda` labels) is refused with the
 * numbers, before anything is submitted; hosts whose driver is too old for it
 * are left out while others run it. Returns the hosts left out. An image of
 * another registry is not read (pcc reaches only the project's).
 */
async function checkCuda(
  gpus: number,
  asGiven: string,
  ref: string,
  registryHost: string,
  placement: Placement,
  manager: Manager,
  warn: (message: string) => void,
): Promise<string[]> {
  const where = inRegistry(ref, registryHost);
  if (!where) {
    warn(`image ${asGiven} is not in the project's registry (${registryHost}), so its CUDA is not checked against the GPU hosts' drivers`);
    return [];
  }
  const need = await manager.imageCuda(registryHost, where.name, where.reference);
  const { excluded } = cudaPlacement(gpus, placement, need);
  if (excluded.length > 0) {
    warn(`image ${asGiven} needs CUDA ${need!.cuda} (${need!.from}): it will not run on ${excluded.join(', ')}, whose driver supports an older CUDA or one setup has not read`);
  }
  return excluded;
}

export async function listJobs(manager: Manager, name?: string): Promise<JobView[]> {
  const snapshot = await manager.snapshot(name);
  const views = snapshot.jobs.map((j) => viewJob(j, snapshot)).sort((a, b) => a.started.localeCompare(b.started));
  if (name !== undefined && views.length === 0) throw noSuchJob(name);
  return views;
}

function noSuchJob(name: string): PccError {
  return new PccError(`no job named ${name}; see pcc job ls`);
}

/** Polls until every task is done or failed after its retries. */
export async function waitForJob(manager: Manager, name: string, onView: (v: JobView) => void, intervalMs = 1000): Promise<JobView> {
  for (;;) {
    const [view] = await listJobs(manager, name);
    onView(view!);
    if (view!.finished) return view!;
    await sleep(intervalMs);
  }
}

export interface LogLine {
  task: number;
  host: string;
  line: string;
}

/** `NAME.SLOT.TASKID@HOSTNAME    | text`, as `docker service logs` prefixes every line. */
const LOG_PREFIX = /^\S+?\.(\d+)\.[a-z0-9]+@(\S+)\s*\| ?(.*)$/;

export function parseLogLine(raw: string, hostOf: (hostname: string) => string): LogLine | undefined {
  const m = LOG_PREFIX.exec(raw);
  if (!m) return undefined;
  return { task: Number(m[1]), host: hostOf(m[2]!), line: m[3]! };
}

export async function jobLogs(
  manager: Manager,
  name: string,
  options: { follow?: boolean; task?: number },
  onLine: (l: LogLine) => void,
): Promise<void> {
  const [view] = await listJobs(manager, name);
  if (options.task !== undefined && !(Number.isInteger(options.task) && options.task >= 0 && options.task < view!.replicas)) {
    throw new PccError(`--task ${options.task}: job ${name} has tasks 0 to ${view!.replicas - 1}`);
  }
  const snapshot = await manager.snapshot(name);
  const hosts = new Map(snapshot.nodes.map((n) => [n.hostname, n.host]));
  let buffer = '';
  const emit = (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const raw of lines) {
      const l = parseLogLine(raw, (h) => hosts.get(h) ?? h);
      if (l && (options.task === undefined || l.task === options.task)) onLine(l);
    }
  };
  if (!options.follow || view!.finished) {
    const r = await manager.run(serviceLogs(name));
    emit(`${r.stdout}${r.stderr}\n`);
    return;
  }
  // Follow until the job has finished, then give the last lines a moment to arrive.
  const follow = manager.stream(serviceLogs(name, { follow: true }), emit);
  // Another channel on the same connection.
  const finished = waitForJob(manager, name, () => undefined, 2000).then(() => sleep(1500));
  await Promise.race([follow.done, finished]);
  follow.stop();
  emit('\n');
}

export async function removeJob(manager: Manager, name: string): Promise<JobView> {
  const [view] = await listJobs(manager, name);
  const r = await manager.run(serviceRemove(name));
  if (r.code !== 0) throw new PccError(`job ${name}: cannot remove it: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.code}`}`);
  return view!;
}
