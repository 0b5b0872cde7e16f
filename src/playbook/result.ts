export type OpStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface OpResult {
  name: string;
  status: OpStatus;
  summary?: string;
  diff?: string;
  /** Output of the failed command, or the planning error. */
  error?: string;
  /** Under --dry: it reads what an earlier, unapplied change alters, so whether it changes is known only when applied. */
  uncertain?: boolean;
}

export type HostStatus = 'ok' | 'changed' | 'failed' | 'unreachable';

export interface HostResult {
  host: string;
  status: HostStatus;
  ok: number;
  changed: number;
  failed: number;
  unreachable: boolean;
  ops: OpResult[];
  error?: string;
  roundTrips: number;
  durationMs: number;
  /** Values the playbook handed back with `host.output`. */
  outputs: Record<string, unknown>;
  /**
   * Under --dry: facts the playbook read that an earlier, unapplied change
   * alters. It saw the host as it is now, so what it did next may differ
   * from a real run.
   */
  guessed?: string[];
}

export interface RunResult {
  playbook: string;
  dry: boolean;
  hosts: HostResult[];
}

export function summarize(host: string, ops: OpResult[], extra: { error?: string; unreachable?: boolean; roundTrips: number; durationMs: number; outputs?: Record<string, unknown>; guessed?: string[] }): HostResult {
  const count = (s: OpStatus) => ops.filter((o) => o.status === s).length;
  const failed = count('failed') + (extra.error && !extra.unreachable && count('failed') === 0 ? 1 : 0);
  const changed = count('changed');
  const status: HostStatus = extra.unreachable ? 'unreachable' : failed > 0 ? 'failed' : changed > 0 ? 'changed' : 'ok';
  return {
    host,
    status,
    ok: count('ok'),
    changed,
    failed,
    unreachable: Boolean(extra.unreachable),
    ops,
    error: extra.error,
    roundTrips: extra.roundTrips,
    durationMs: extra.durationMs,
    outputs: extra.outputs ?? {},
    ...(extra.guessed?.length ? { guessed: extra.guessed } : {}),
  };
}

export function runFailed(result: RunResult): boolean {
  return result.hosts.some((h) => h.status === 'failed' || h.status === 'unreachable');
}

/**
 * One result for a command that ran several playbooks in turn (setup, then
 * the swarm labels on the manager): each host's operations in run order,
 * counted again, under the first run's name.
 */
export function combineRuns(first: RunResult, ...later: RunResult[]): RunResult {
  const hosts = new Map(first.hosts.map((h) => [h.host, h]));
  for (const run of later) {
    for (const h of run.hosts) {
      const prev = hosts.get(h.host);
      if (!prev) {
        hosts.set(h.host, h);
        continue;
      }
      const merged = summarize(h.host, [...prev.ops, ...h.ops], {
        error: prev.error ?? h.error,
        unreachable: prev.unreachable || h.unreachable,
        roundTrips: prev.roundTrips + h.roundTrips,
        durationMs: prev.durationMs + h.durationMs,
        outputs: { ...prev.outputs, ...h.outputs },
      });
      hosts.set(h.host, merged);
    }
  }
  return { ...first, hosts: [...hosts.values()] };
}
