import { randomBytes } from 'node:crypto';
import { PccError } from '../core/errors.js';

/** What the user asked for with `pcc job run`, before anything is resolved against the swarm. */
export interface JobRequest {
  name?: string;
  image: string;
  command: string[];
  replicas: number;
  /** Tasks running at once (swarm's max-concurrent); default all of them. */
  parallel?: number;
  /** pcc host pattern; default every compute host. */
  on?: string;
  /** GPUs per task, from the swarm generic resource `gpu`. */
  gpus?: number;
  /** CPUs a task may use at most, e.g. 1.5. */
  cpus?: number;
  /** Memory a task may use at most, docker's units, e.g. 512M or 2G. */
  memory?: string;
  /** Extra attempts for a task that exits non-zero. */
  retries: number;
  env: string[];
}

/** A job ready for `docker service create`: every reference resolved, every limit checked. */
export interface JobSpec {
  name: string;
  /** The image as the user wrote it, kept as a label for `job ls`. */
  imageAsGiven: string;
  /** What swarm pulls: `$REGISTRY_HOST/name@sha256:...` for project images. */
  image: string;
  command: string[];
  replicas: number;
  parallel: number;
  retries: number;
  constraints: string[];
  gpus?: number;
  cpus?: number;
  memory?: string;
  env: string[];
  /** Swarm overlay network the tasks join, when there is one. */
  network?: string;
}

/** A swarm service name that is also a valid container name prefix and DNS label. */
const JOB_NAME = /^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$/;
const ENV_PAIR = /^[A-Za-z_][A-Za-z0-9_]*=/;
const MEMORY = /^\d+(\.\d+)?[bkmgBKMG]?$/;
/** Set by pcc for every task; a user value would silently lose. */
const RESERVED_ENV = ['PCC_TASK_INDEX', 'PCC_TASK_COUNT', 'PCC_JOB'];

/** Checks the flags alone (no swarm needed), so a bad flag costs no SSH round trip and submits nothing. */
export function checkJobRequest(r: JobRequest): void {
  if (r.name !== undefined && !JOB_NAME.test(r.name)) {
    throw new PccError(`--name ${r.name}: use 2-40 lowercase letters, digits and dashes, starting and ending with a letter or digit`);
  }
  if (!Number.isInteger(r.replicas) || r.replicas < 1 || r.replicas > 10_000) {
    throw new PccError(`--replicas ${r.replicas}: give a whole number of tasks from 1 to 10000`);
  }
  if (r.parallel !== undefined && (!Number.isInteger(r.parallel) || r.parallel < 1)) {
    throw new PccError(`--parallel ${r.parallel}: give a whole number of tasks at once, 1 or more`);
  }
  if (!Number.isInteger(r.retries) || r.retries < 0 || r.retries > 100) {
    throw new PccError(`--retries ${r.retries}: give a whole number of extra attempts from 0 to 100`);
  }
  if (r.gpus !== undefined && (!Number.isInteger(r.gpus) || r.gpus < 1)) {
    throw new PccError(`--gpus ${r.gpus}: give a whole number of GPUs per task, 1 or more`);
  }
  if (r.cpus !== undefined && !(r.cpus > 0)) throw new PccError(`--cpus ${r.cpus}: give the CPUs per task as a positive number, e.g. 1 or 0.5`);
  if (r.memory !== undefined && !MEMORY.test(r.memory)) throw new PccError(`--memory ${r.memory}: give the memory per task like 512M or 2G`);
  for (const e of r.env) {
    if (!ENV_PAIR.test(e)) throw new PccError(`--env ${e}: write KEY=VALUE`);
    const key = e.slice(0, e.indexOf('='));
    if (RESERVED_ENV.includes(key)) throw new PccError(`--env ${key}: pcc sets ${key} for every task; choose another name`);
  }
  if (r.image.trim() === '') throw new PccError('no image given; write: pcc job run IMAGE [-- COMMAND...]');
}

/** `mybusybox-3f9a1c`: readable in `job ls`, unique enough to never collide by chance. */
export function defaultJobName(image: string, random: () => string = () => randomBytes(3).toString('hex')): string {
  const base = image.replace(/@.*$/, '').replace(/:[^/]*$/, '').split('/').at(-1)!.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `${(base || 'job').slice(0, 30)}-${random()}`;
}
