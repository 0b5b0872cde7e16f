import { errorMessage } from '../core/errors.js';
import { newNonce, parseFactOutput, renderFactScript } from '../facts/batch.js';
import type { Fact } from '../facts/fact.js';
import { staleAfter, type Change, type Operation } from '../ops/operation.js';
import { UnreachableError, type Connection } from '../remote/connection.js';
import type { ShellSession } from '../remote/shell-session.js';
import type { HostRecord } from '../state/schema.js';
import { parseApplyOutput, renderApplyScript } from './apply-script.js';
import type { HostContext, Playbook } from './define.js';
import { summarize, type HostResult, type OpResult } from './result.js';

export interface HostRunOptions<I> {
  dry: boolean;
  input: I;
  vars: Readonly<Record<string, string>>;
  onProgress?: (message: string) => void;
}

interface Planned {
  op: Operation;
  change: Change;
  result: OpResult;
}

class HostFailed extends Error {}

/**
 * Plans and applies one playbook on one host in as few round trips as the
 * facts allow: every fact known to be needed travels together, and all planned
 * changes go in one script. A fact that a pending change may alter is read
 * again after that change is applied (in the same round trip), so a playbook
 * sees the host as Ansible would, task by task.
 */
export class HostRun<I> {
  private readonly cache = new Map<string, { fact: Fact<unknown>; value: unknown }>();
  private readonly pending: Operation[] = [];
  private planned: Planned[] = [];
  private readonly changedOps = new Set<Operation>();
  private readonly results: OpResult[] = [];
  private readonly requests = new Map<string, { fact: Fact<unknown>; waiters: ((v: unknown) => void)[]; failers: ((e: unknown) => void)[] }>();
  private wake: () => void = () => {};
  private roundTrips = 0;
  private readonly outputs: Record<string, unknown> = {};
  private shell?: Promise<ShellSession>;

  constructor(
    private readonly record: HostRecord,
    private readonly playbook: Playbook<I>,
    private readonly conn: Connection,
    private readonly options: HostRunOptions<I>,
  ) {}

  async execute(): Promise<HostResult> {
    const started = Date.now();
    const finish = (extra: { error?: string; unreachable?: boolean } = {}) =>
      summarize(this.record.name, this.results, { ...extra, roundTrips: this.roundTrips, durationMs: Date.now() - started, outputs: this.outputs });
    try {
      await this.drive();
      await this.settle([]);
      if (!this.options.dry) await this.roundTrip(this.takeForApply(), []);
      this.progress(this.options.dry ? 'planned' : 'done');
      return finish();
    } catch (err) {
      this.failRequests(err);
      if (err instanceof UnreachableError) return finish({ error: err.message, unreachable: true });
      if (err instanceof HostFailed) return finish({ error: err.message });
      return finish({ error: errorMessage(err) });
    } finally {
      this.shell?.then((s) => s.close(), () => undefined);
    }
  }

  /** Runs the playbook's `run`, answering its fact requests in batches. */
  private async drive(): Promise<void> {
    let done = false;
    let failure: unknown;
    const ctx = this.context();
    const running = Promise.resolve()
      .then(() => this.playbook.run(ctx, this.options.input))
      .then(
        () => {
          done = true;
          this.wake();
        },
        (err: unknown) => {
          done = true;
          failure = err;
          this.wake();
        },
      );
    while (!done || this.requests.size > 0) {
      if (this.requests.size === 0) await new Promise<void>((r) => (this.wake = r));
      // Let everything requested in this tick join the batch.
      await new Promise((r) => setImmediate(r));
      if (this.requests.size === 0) continue;
      const batch = [...this.requests.values()];
      this.requests.clear();
      try {
        await this.settle(batch.map((b) => b.fact));
      } catch (err) {
        for (const b of batch) for (const f of b.failers) f(err);
        throw err;
      }
      for (const b of batch) for (const w of b.waiters) w(this.cache.get(b.fact.key)?.value);
    }
    await running;
    if (failure !== undefined) throw failure;
  }

  private context(): HostContext {
    return {
      name: this.record.name,
      record: this.record,
      vars: this.options.vars,
      add: (op) => {
        this.pending.push(op);
      },
      output: (key, value) => {
        this.outputs[key] = value;
      },
      fact: <T>(fact: Fact<T>) =>
        new Promise<T>((resolve, reject) => {
          const entry = this.requests.get(fact.key) ?? { fact, waiters: [], failers: [] };
          entry.waiters.push(resolve as (v: unknown) => void);
          entry.failers.push(reject);
          this.requests.set(fact.key, entry);
          this.wake();
        }),
    };
  }

  /** Plans every pending operation and makes the wanted facts current. */
  private async settle(wanted: readonly Fact<unknown>[]): Promise<void> {
    for (;;) {
      const needed = uniqueFacts([...this.pending.flatMap((op) => op.facts), ...wanted]);
      const applyFirst = !this.options.dry && needed.some((f) => !this.cache.has(f.key) && this.isStale(f));
      const apply = applyFirst ? this.takeForApply() : [];
      const toProbe = needed.filter((f) => !this.cache.has(f.key));
      if (toProbe.length > 0 || apply.length > 0) await this.roundTrip(apply, toProbe);

      let blocked = false;
      while (this.pending.length > 0) {
        const op = this.pending[0]!;
        const stale = this.options.dry ? [] : op.facts.filter((f) => this.isStale(f));
        if (stale.length > 0) {
          for (const f of stale) this.cache.delete(f.key);
          blocked = true;
          break;
        }
        this.pending.shift();
        this.planOne(op);
      }
      if (blocked) continue;

      const staleWanted = this.options.dry ? [] : wanted.filter((f) => this.isStale(f));
      if (staleWanted.length === 0) return;
      for (const f of staleWanted) this.cache.delete(f.key);
    }
  }

  private planOne(op: Operation): void {
    let change: Change | undefined;
    try {
      change = op.plan(
        (fact) => {
          if (!this.cache.has(fact.key)) throw new Error(`${op.name} read fact ${fact.key} it did not declare`);
          return this.cache.get(fact.key)!.value as never;
        },
        { changed: (earlier) => this.changedOps.has(earlier) },
      );
    } catch (err) {
      this.results.push({ name: op.name, status: 'failed', error: errorMessage(err) });
      throw new HostFailed(`${op.name}: ${errorMessage(err)}`);
    }
    if (!change) {
      this.results.push({ name: op.name, status: 'ok' });
      return;
    }
    const result: OpResult = { name: op.name, status: 'changed', summary: change.summary, diff: this.options.dry ? change.diff?.() : undefined };
    this.results.push(result);
    this.planned.push({ op, change, result });
    this.changedOps.add(op);
  }

  private isStale(fact: Fact<unknown>): boolean {
    return this.planned.some((p) => staleAfter(fact, p.op.touches));
  }

  /** Hands the planned changes to a round trip and forgets every fact they may alter. */
  private takeForApply(): Planned[] {
    const taken = this.planned;
    this.planned = [];
    for (const [key, entry] of this.cache) {
      if (taken.some((p) => staleAfter(entry.fact, p.op.touches))) this.cache.delete(key);
    }
    return taken;
  }

  /** One exec: apply these changes, then read these facts. */
  private async roundTrip(apply: Planned[], probe: Fact<unknown>[]): Promise<void> {
    if (apply.length === 0 && probe.length === 0) return;
    const nonce = newNonce();
    const script = [renderApplyScript(apply.map((p) => p.change), nonce), renderFactScript(probe, nonce)]
      .filter(Boolean)
      .join('\n');
    this.progress(apply.length ? `applying ${apply.length} change(s)` : `reading ${probe.length} fact(s)`);
    this.roundTrips++;
    this.shell ??= this.conn.shell({ become: this.playbook.become ?? true });
    const out = await (await this.shell).run(script);

    const { applied, rest } = parseApplyOutput(apply.length, out.stdout, nonce);
    apply.forEach((p, i) => {
      const a = applied[i];
      if (!a) p.result.status = 'skipped';
      else if (a.exitCode !== 0) {
        p.result.status = 'failed';
        p.result.error = a.output || `exit code ${a.exitCode}`;
      }
    });
    const failedOp = apply.find((p) => p.result.status === 'failed');
    if (failedOp) throw new HostFailed(`${failedOp.op.name}: ${firstLines(failedOp.result.error ?? '')}`);
    if (applied.length < apply.length) {
      throw new HostFailed(`the change script stopped early (exit ${out.code}): ${firstLines(out.stderr)}`);
    }
    if (probe.length === 0) return;
    let values: Map<string, unknown>;
    try {
      values = parseFactOutput(probe, rest, nonce);
    } catch (err) {
      throw new HostFailed(`reading facts failed (exit ${out.code}): ${firstLines(out.stderr) || errorMessage(err)}`);
    }
    for (const f of probe) this.cache.set(f.key, { fact: f, value: values.get(f.key) });
  }

  private failRequests(err: unknown): void {
    for (const r of this.requests.values()) for (const f of r.failers) f(err);
    this.requests.clear();
  }

  private progress(message: string): void {
    this.options.onProgress?.(message);
  }
}

function uniqueFacts(facts: readonly Fact<unknown>[]): Fact<unknown>[] {
  const seen = new Map<string, Fact<unknown>>();
  for (const f of facts) if (!seen.has(f.key)) seen.set(f.key, f);
  return [...seen.values()];
}

function firstLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ');
}
