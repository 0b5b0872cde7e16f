import type { Command } from '../remote/shell.js';
import type { JobSpec } from './spec.js';

/**
 * Every docker command pcc runs on the swarm manager for `pcc job`, as pure
 * builders (argv in, argv out), tested by exact string like the ops.
 */

/** Label that marks a service as a pcc job; its value is the job name. */
export const JOB_LABEL = 'pcc.job';
export const JOB_IMAGE_LABEL = 'pcc.job.image';
/**
 * Where every removal of a node by pcc (the reaper's, release's and
 * destroy's) notes `id host time`, so `job ls` can still name the host of a
 * task lost with it: swarm forgets the node and keeps only its id.
 */
export const LOST_NODES_FILE = '/var/lib/pcc/lost-nodes';

/**
 * Removes the swarm nodes that advertise one of `hosts`' overlay addresses
 * (release and destroy, on the manager) and notes each in LOST_NODES_FILE.
 * Prints each removed address. Names and addresses are pcc's own (letters,
 * digits, dashes and dots), so they go into the case patterns as they are.
 */
export function forgetNodesScript(hosts: readonly { name: string; address: string }[]): string {
  return [
    `mkdir -p ${LOST_NODES_FILE.replace(/\/[^/]+$/, '')}`,
    'for id in $(docker node ls -q 2>/dev/null); do',
    `  addr=$(docker node inspect --format '{{.Status.Addr}}' "$id")`,
    '  case "$addr" in',
    ...hosts.map((h) => `    ${h.address}) host=${h.name};;`),
    '    *) continue;;',
    '  esac',
    '  docker node rm --force "$id" >/dev/null || continue',
    `  echo "$id $host $(date +%s)" >> ${LOST_NODES_FILE}`,
    '  echo "$addr"',
    'done',
  ].join('\n');
}

/**
 * Replicated-job tasks get slots 0..N-1, but swarm's template renders
 * `{{.Task.Slot}}` as the node id when the slot is 0 (the rule for global
 * services). Go's template `eq` against `.Node.ID` turns that back into 0, so
 * PCC_TASK_INDEX is 0-based with no shell in the image.
 */
export const TASK_INDEX_TEMPLATE = '{{if eq .Task.Slot .Node.ID}}0{{else}}{{.Task.Slot}}{{end}}';

export function serviceCreate(spec: JobSpec): Command {
  const argv = [
    'docker', 'service', 'create', '--detach', '--quiet',
    '--name', spec.name,
    '--label', `${JOB_LABEL}=${spec.name}`,
    '--label', `${JOB_IMAGE_LABEL}=${spec.imageAsGiven}`,
    '--mode', 'replicated-job',
    '--replicas', String(spec.replicas),
    '--max-concurrent', String(spec.parallel),
    // Swarm reads max-attempts 0 as "no limit", so no retries is no restart at all.
    // A job's attempts are capped, so a short delay cannot turn into a crash loop.
    ...(spec.retries > 0
      ? ['--restart-condition', 'on-failure', '--restart-max-attempts', String(spec.retries), '--restart-delay', '1s']
      : ['--restart-condition', 'none']),
    ...spec.constraints.flatMap((c) => ['--constraint', c]),
    ...(spec.gpus ? ['--generic-resource', `gpu=${spec.gpus}`] : []),
    // Limits, not reservations: swarm's constraint enforcer (20.10) counts the reservations of
    // finished job tasks too, and would reject later tasks on a node that has room.
    ...(spec.cpus ? ['--limit-cpu', String(spec.cpus)] : []),
    ...(spec.memory ? ['--limit-memory', spec.memory] : []),
    '--env', `PCC_TASK_INDEX=${TASK_INDEX_TEMPLATE}`,
    '--env', `PCC_TASK_COUNT=${spec.replicas}`,
    '--env', `PCC_JOB=${spec.name}`,
    ...spec.env.flatMap((e) => ['--env', e]),
    // /project on every set-up host is the controller's share (or, without kernel NFS, the host's own folder).
    '--mount', 'type=bind,source=/project,target=/project',
    // No VIP: jobs need none, and kernels without ip_vs cannot give one.
    ...(spec.network ? ['--network', spec.network, '--endpoint-mode', 'dnsrr'] : []),
    spec.image,
    ...spec.command,
  ];
  return { argv };
}

/**
 * One round trip for everything `job ls`, `job wait` and `job run` read: the
 * pcc job services (one, or all), their tasks with history, the nodes, the
 * overlay networks and the reaper's notes, each after a marker line.
 */
/** swarmSnapshot's exit status when the docker it asks manages no swarm: the manager tells it by status, not by docker's words. */
export const NOT_A_SWARM_MANAGER = 69;

export function swarmSnapshot(job?: string): Command {
  const filter = job === undefined ? JOB_LABEL : `${JOB_LABEL}=${job}`;
  const script = [
    `m=$(docker info --format '{{.Swarm.ControlAvailable}}') || exit $?; [ "$m" = true ] || exit ${NOT_A_SWARM_MANAGER}`,
    `s=$(docker service ls -q --filter label="$1") || exit $?`,
    'echo @@services; if [ -n "$s" ]; then docker service inspect $s; else echo []; fi',
    't=; [ -z "$s" ] || t=$(docker service ps -q --no-trunc $s 2>/dev/null)',
    'echo @@tasks; if [ -n "$t" ]; then docker inspect --type task $t; else echo []; fi',
    'echo @@nodes; docker node inspect $(docker node ls -q)',
    "echo @@networks; docker network ls --filter driver=overlay --format '{{.Name}}'",
    `echo @@lost; cat ${LOST_NODES_FILE} 2>/dev/null; true`,
  ].join('\n');
  return { argv: ['sh', '-c', script, 'sh', filter] };
}

/** Output of every task, each line prefixed by swarm with `job.slot.task@node`. */
export function serviceLogs(job: string, options: { follow?: boolean } = {}): Command {
  const flags = options.follow ? '--no-trunc --follow' : '--no-trunc';
  return { argv: ['sh', '-c', `exec docker service logs ${flags} "$1" 2>&1`, 'sh', job] };
}

export function serviceRemove(job: string): Command {
  return { argv: ['docker', 'service', 'rm', job] };
}

/** Whether a host's docker is a manager of an active swarm (it prints `active true`). */
export function swarmState(): Command {
  return { argv: ['docker', 'info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'] };
}

/** `docker manifest inspect` asks the registry without pulling: an unknown image fails here, before submission. */
export function manifestInspect(image: string, insecure: boolean): Command {
  return { argv: ['docker', 'manifest', 'inspect', ...(insecure ? ['--insecure'] : []), image] };
}
