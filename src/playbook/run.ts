import pLimit from 'p-limit';
import { errorMessage, UnreachableError } from '../core/errors.js';
import type { Connection } from '../remote/connection.js';
import type { Timeouts } from '../remote/timeouts.js';
import type { HostRecord } from '../state/schema.js';
import type { Playbook } from './define.js';
import type { HostFactMemory } from './fact-memory.js';
import { HostRun } from './host-run.js';
import { summarize, type HostResult, type RunResult } from './result.js';
import { strictVars } from './vars.js';

export interface RunOptions<I = undefined> {
  dry: boolean;
  input?: I;
  concurrency: number;
  /** The same for every host, or per host (settings < group < host < --var, from fleet/). */
  vars: Readonly<Record<string, string>> | ((host: HostRecord) => Readonly<Record<string, string>>);
  connect: (host: HostRecord) => Promise<Connection>;
  onProgress?: (host: string, message: string) => void;
  /** Where each host keeps the facts this playbook read there last time. */
  memory?: (playbook: string, host: string) => HostFactMemory;
  /** How long a round trip may take before its host counts as unreachable (default: the settings' defaults). */
  timeouts?: Timeouts;
}

/**
 * Runs a playbook on every host in parallel (bounded). Hosts are independent:
 * one failing or unreachable host never stops the others.
 *
 * The playbook may still be loading: connections open meanwhile, since the
 * SSH handshakes are mostly waiting on the hosts.
 */
export async function runPlaybook<I>(playbook: Playbook<I> | Promise<Playbook<I>>, hosts: readonly HostRecord[], options: RunOptions<I>): Promise<RunResult> {
  const loaded = Promise.resolve(playbook);
  // A load failure is reported once, by the await below, not per host.
  loaded.catch(() => undefined);
  const limit = pLimit(options.concurrency);
  const results = await Promise.all(hosts.map((host) => limit(() => runOnHost(loaded, host, options))));
  return { playbook: (await loaded).name, dry: options.dry, hosts: results };
}

async function runOnHost<I>(loading: Promise<Playbook<I>>, host: HostRecord, options: RunOptions<I>): Promise<HostResult> {
  const started = Date.now();
  const progress = (m: string) => options.onProgress?.(host.name, m);
  progress('connecting');
  let conn: Connection;
  try {
    conn = await options.connect(host);
  } catch (err) {
    progress('unreachable');
    return summarize(host.name, [], {
      error: errorMessage(err),
      unreachable: err instanceof UnreachableError,
      roundTrips: 0,
      durationMs: Date.now() - started,
    });
  }
  try {
    const playbook = await loading;
    const result = await new HostRun(host, playbook, (o) => conn.shell(o), {
      dry: options.dry,
      input: options.input as I,
      vars: strictVars(typeof options.vars === 'function' ? options.vars(host) : options.vars),
      onProgress: progress,
      memory: options.memory?.(playbook.name, host.name),
      timeouts: options.timeouts,
    }).execute();
    if (result.status === 'failed' || result.status === 'unreachable') progress(`${result.status}: ${result.error ?? ''}`);
    return result;
  } finally {
    conn.close();
  }
}
