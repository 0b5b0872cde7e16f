import * as z from '../core/zod.js';
import { PccError } from '../core/errors.js';
import { JOB_IMAGE_LABEL, JOB_LABEL } from './builders.js';

/** What `docker node/service/inspect` print, reduced to the fields pcc reads. */
const labels = z.pipe(z.nullish(z.record(z.string(), z.string())), z.transform((l: Record<string, string> | null | undefined) => l ?? {}));

const nodeJson = z.object({
  ID: z.string(),
  UpdatedAt: z.optional(z.string()),
  Spec: z.object({ Role: z.optional(z.string()), Availability: z.optional(z.string()), Labels: labels }),
  Description: z.object({
    Hostname: z.optional(z.string()),
    Resources: z.optional(
      z.object({
        GenericResources: z.nullish(
          z.array(
            z.object({
              NamedResourceSpec: z.optional(z.object({ Kind: z.string(), Value: z.string() })),
              DiscreteResourceSpec: z.optional(z.object({ Kind: z.string(), Value: z.number() })),
            }),
          ),
        ),
      }),
    ),
  }),
  Status: z.object({ State: z.string() }),
});

const serviceJson = z.object({
  ID: z.string(),
  CreatedAt: z.string(),
  Spec: z.object({
    Name: z.string(),
    Labels: labels,
    TaskTemplate: z.object({
      ContainerSpec: z.object({ Image: z.string() }),
      RestartPolicy: z.optional(z.object({ Condition: z.optional(z.string()), MaxAttempts: z.optional(z.number()) })),
    }),
    Mode: z.object({ ReplicatedJob: z.optional(z.object({ MaxConcurrent: z.optional(z.number()), TotalCompletions: z.optional(z.number()) })) }),
  }),
});

const taskJson = z.object({
  ID: z.string(),
  ServiceID: z.string(),
  CreatedAt: z.string(),
  UpdatedAt: z.optional(z.string()),
  /** Omitted for slot 0. */
  Slot: z.optional(z.number()),
  NodeID: z.optional(z.string()),
  DesiredState: z.string(),
  Status: z.object({
    State: z.string(),
    Message: z.optional(z.string()),
    Err: z.optional(z.string()),
    ContainerStatus: z.optional(z.object({ ExitCode: z.optional(z.number()) })),
  }),
});

export interface SwarmNode {
  id: string;
  /** The pcc host name (label pcc.host), else docker's hostname. */
  host: string;
  /** Docker's hostname, as `docker service logs` names the node. */
  hostname: string;
  role: string;
  /** ready, down, unknown, disconnected. */
  state: string;
  availability: string;
  labels: Record<string, string>;
  /** Advertised GPU ids (generic resource `gpu`). */
  gpus: string[];
}

export interface SwarmTask {
  id: string;
  serviceId: string;
  slot: number;
  nodeId?: string;
  state: string;
  desiredState: string;
  exitCode?: number;
  message?: string;
  createdAt: string;
}

export interface SwarmJob {
  id: string;
  name: string;
  image: string;
  imageAsGiven: string;
  replicas: number;
  parallel: number;
  retries: number;
  createdAt: string;
}

export interface SwarmSnapshot {
  jobs: SwarmJob[];
  tasks: SwarmTask[];
  nodes: SwarmNode[];
  networks: string[];
  /** Nodes the reaper removed: id -> host name. */
  removedNodes: Map<string, string>;
}

/** Parses what `swarmSnapshot()` printed. */
export function parseSnapshot(output: string): SwarmSnapshot {
  const sections = new Map<string, string>();
  let current: string | undefined;
  for (const line of output.split('\n')) {
    const m = /^@@(\w+)$/.exec(line);
    if (m) {
      current = m[1]!;
      sections.set(current, '');
    } else if (current) sections.set(current, `${sections.get(current)}${line}\n`);
  }
  const json = (name: string): unknown[] => {
    const text = sections.get(name)?.trim();
    if (!text) throw new PccError(`the swarm manager sent no ${name}; is docker running there?`);
    return JSON.parse(text) as unknown[];
  };
  const nodes = json('nodes').map((n) => toNode(nodeJson.parse(n)));
  const jobs = json('services').map((s) => toJob(serviceJson.parse(s)));
  const tasks = json('tasks').map((t) => toTask(taskJson.parse(t)));
  const networks = (sections.get('networks') ?? '').split('\n').filter(Boolean);
  const removedNodes = new Map<string, string>();
  for (const line of (sections.get('lost') ?? '').split('\n')) {
    const [id, host] = line.trim().split(/\s+/);
    if (id && host) removedNodes.set(id, host);
  }
  return { jobs, tasks, nodes, networks, removedNodes };
}

function toNode(n: z.infer<typeof nodeJson>): SwarmNode {
  const gpus = (n.Description.Resources?.GenericResources ?? []).flatMap((r) =>
    r.NamedResourceSpec?.Kind === 'gpu' ? [r.NamedResourceSpec.Value] : r.DiscreteResourceSpec?.Kind === 'gpu' ? Array.from({ length: r.DiscreteResourceSpec.Value }, (_, i) => `gpu${i}`) : [],
  );
  return {
    id: n.ID,
    host: n.Spec.Labels['pcc.host'] ?? n.Description.Hostname ?? n.ID.slice(0, 12),
    hostname: n.Description.Hostname ?? n.ID,
    role: n.Spec.Role ?? 'worker',
    state: n.Status.State,
    availability: n.Spec.Availability ?? 'active',
    labels: n.Spec.Labels,
    gpus,
  };
}

function toJob(s: z.infer<typeof serviceJson>): SwarmJob {
  const mode = s.Spec.Mode.ReplicatedJob ?? {};
  const replicas = mode.TotalCompletions ?? 1;
  return {
    id: s.ID,
    name: s.Spec.Labels[JOB_LABEL] ?? s.Spec.Name,
    image: s.Spec.TaskTemplate.ContainerSpec.Image,
    imageAsGiven: s.Spec.Labels[JOB_IMAGE_LABEL] ?? s.Spec.TaskTemplate.ContainerSpec.Image,
    replicas,
    parallel: mode.MaxConcurrent ?? replicas,
    retries: s.Spec.TaskTemplate.RestartPolicy?.Condition === 'none' ? 0 : (s.Spec.TaskTemplate.RestartPolicy?.MaxAttempts ?? 0),
    createdAt: s.CreatedAt,
  };
}

function toTask(t: z.infer<typeof taskJson>): SwarmTask {
  return {
    id: t.ID,
    serviceId: t.ServiceID,
    slot: t.Slot ?? 0,
    nodeId: t.NodeID || undefined,
    state: t.Status.State,
    desiredState: t.DesiredState,
    exitCode: t.Status.ContainerStatus?.ExitCode,
    message: t.Status.Err || t.Status.Message,
    createdAt: t.CreatedAt,
  };
}

export type TaskState = 'done' | 'running' | 'pending' | 'failed' | 'lost';

export interface TaskView {
  index: number;
  state: TaskState;
  /** Where it ran last (or runs). */
  host?: string;
  /** Attempts that exited non-zero. */
  failures: number;
  /** Attempts lost with their host (down, or removed from the swarm). */
  lost: { host: string }[];
  exitCode?: number;
  /** Swarm's reason, e.g. why a task waits (no suitable node) or how it failed. */
  message?: string;
}

export interface JobView {
  name: string;
  image: string;
  started: string;
  replicas: number;
  parallel: number;
  retries: number;
  counts: Record<TaskState, number>;
  hosts: string[];
  tasks: TaskView[];
  /** Every task done, or failed after its retries. */
  finished: boolean;
}

/** Placed on a node but not yet finished. */
const ON_NODE = new Set(['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);
/** Waiting for the scheduler. */
const WAITING = new Set(['new', 'allocated', 'pending']);
const FAILED = new Set(['failed', 'rejected']);

/** One job as the user sees it: a state per task index, from the tasks swarm keeps (history included). */
export function viewJob(job: SwarmJob, snapshot: SwarmSnapshot): JobView {
  const nodes = new Map(snapshot.nodes.map((n) => [n.id, n]));
  const hostOf = (id?: string) => (id === undefined ? undefined : (nodes.get(id)?.host ?? snapshot.removedNodes.get(id) ?? id.slice(0, 12)));
  const nodeUp = (id?: string) => id !== undefined && nodes.get(id)?.state === 'ready';
  const bySlot = new Map<number, SwarmTask[]>();
  for (const t of snapshot.tasks) if (t.serviceId === job.id) bySlot.set(t.slot, [...(bySlot.get(t.slot) ?? []), t]);

  const tasks: TaskView[] = [];
  for (let index = 0; index < job.replicas; index++) {
    const attempts = (bySlot.get(index) ?? []).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const failures = attempts.filter((t) => FAILED.has(t.state));
    const live = attempts.filter((t) => (ON_NODE.has(t.state) || WAITING.has(t.state)) && t.desiredState !== 'shutdown' && t.desiredState !== 'remove');
    const lost = attempts
      .filter((t) => t.state === 'orphaned' || (ON_NODE.has(t.state) && !nodeUp(t.nodeId)))
      .map((t) => ({ host: hostOf(t.nodeId) ?? 'unknown' }));
    const done = attempts.find((t) => t.state === 'complete');
    const running = live.find((t) => ON_NODE.has(t.state) && nodeUp(t.nodeId));
    const last = done ?? running ?? attempts.at(-1);
    let state: TaskState;
    if (done) state = 'done';
    else if (running) state = 'running';
    else if (live.some((t) => ON_NODE.has(t.state))) state = 'lost';
    else if (failures.length > job.retries) state = 'failed';
    else state = 'pending';
    tasks.push({
      index,
      state,
      host: last && !WAITING.has(last.state) ? hostOf(last.nodeId) : undefined,
      failures: failures.length,
      lost,
      // A rejected task never ran, so it has no exit code of its own.
      exitCode: (done ?? failures.filter((t) => t.state === 'failed').at(-1))?.exitCode,
      message: state === 'pending' || state === 'failed' ? last?.message : undefined,
    });
  }
  const counts: Record<TaskState, number> = { done: 0, running: 0, pending: 0, failed: 0, lost: 0 };
  for (const t of tasks) counts[t.state]++;
  const hosts = [...new Set(tasks.flatMap((t) => (t.host && (t.state === 'done' || t.state === 'running' || t.state === 'failed') ? [t.host] : [])))].sort();
  return {
    name: job.name,
    image: job.imageAsGiven,
    started: job.createdAt,
    replicas: job.replicas,
    parallel: job.parallel,
    retries: job.retries,
    counts,
    hosts,
    tasks,
    finished: counts.done + counts.failed === job.replicas,
  };
}

/** `3 done, 1 running, 0 failed, 0 pending` (and lost, when any): a job's tasks in one line. */
export function taskCounts(v: JobView): string {
  const c = v.counts;
  return `${c.done} done, ${c.running} running, ${c.failed} failed, ${c.pending} pending${c.lost ? `, ${c.lost} lost` : ''}`;
}

/**
 * Why `job run` refuses a name a job already has, and what to do. A job of
 * the same image that has not finished is most likely this very run, cut off
 * after swarm took it (Ctrl-C, a killed pcc, a lost terminal): it runs on, so
 * the way on is to follow it. One that finished is kept, with its logs, until
 * it is removed.
 */
export function nameTakenMessage(view: JobView, image: string): string {
  const { name } = view;
  if (view.image !== image) return `--name ${name}: a job of that name exists already (of ${view.image}); pcc job rm ${name}, or choose another name`;
  if (!view.finished) {
    return `job ${name} of ${image} was submitted already and runs on (${taskCounts(view)}); follow it with pcc job wait ${name}, or stop it with pcc job rm ${name} --yes to run it anew`;
  }
  return `job ${name} of ${image} has run already (${taskCounts(view)}); see pcc job logs ${name}, and pcc job rm ${name} to run it again`;
}

/** What happened to tasks whose host went away, one line per host, for `job ls` and `job wait`. */
export function lostSummary(view: JobView): string[] {
  const perHost = new Map<string, number>();
  for (const t of view.tasks) for (const l of t.lost) perHost.set(l.host, (perHost.get(l.host) ?? 0) + 1);
  const waiting = view.counts.lost;
  return [...perHost].map(
    ([host, n]) =>
      `${n} task${n === 1 ? '' : 's'} lost with ${host} (host down or removed from the swarm); ` +
      (waiting ? `${waiting} wait${waiting === 1 ? 's' : ''} for swarm to run ${waiting === 1 ? 'it' : 'them'} elsewhere` : 'run again elsewhere'),
  );
}
