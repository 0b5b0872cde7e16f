import { errorMessage, HostFailedError as HostFailed } from '../core/errors.js';
import { newNonce, parseFactOutput, renderFactScript } from '../facts/batch.js';
import type { Fact } from '../facts/fact.js';
import { staleAfter, type Change, type Operation } from '../ops/operation.js';
import { UnreachableError, type Connection } from '../remote/connection.js';
import type { ShellSession } from '../remote/shell-session.js';
import { DEFAULT_TIMEOUTS, type Deadline, type Timeouts } from '../remote/timeouts.js';
import type { HostRecord } from '../state/schema.js';
import { parseApplyOutput, renderApplyScript } from './apply-script.js';
import type { HostContext, Playbook } from './define.js';
import { claim, NOT_THE_SAME, recalledFact, rememberFact, type HostFactMemory, type RememberedFact, type RememberedValue } from './fact-memory.js';
import { summarize, type HostResult, type OpResult } from './result.js';

export interface HostRunOptions<I> {
  dry: boolean;
  input: I;
  vars: Readonly<Record<string, string>>;
  onProgress?: (message: string) => void;
  /** The facts this playbook read on this host last time, read again up front. */
  memory?: HostFactMemory;
  /** How long each round trip may take before the host counts as unreachable (default: pcc's settings' defaults). */
  timeouts?: Timeouts;
}

interface Planned {
  op: Operation;
  change: Change;
  result: OpResult;
}

interface Known {
  fact: Fact<unknown>;
  value: unknown;
  /** What a planned change says the host will read once it is applied; not read yet. */
  predicted?: boolean;
}

/**
 * Plans and applies one playbook on one host in as few round trips as the
 * facts allow: every fact known to be needed travels together, and all planned
 * changes go in one script. A change that may alter a fact either says what
 * the fact will read afterwards (a file written with known content and mode),
 * or the fact is read again once the change is applied, in the same round
 * trip, so a playbook sees the host as Ansible would, task by task.
 *
 * Facts the playbook read on this host last time join the first round trip,
 * so a re-run with nothing to change is a single round trip.
 */
export class HostRun<I> {
  private readonly cache = new Map<string, Known>();
  private readonly remembered = new Map<string, RememberedValue>();
  private readonly read = new Map<string, Fact<unknown>>();
  private recalled: readonly RememberedFact[] = [];
  private readonly pending: Operation[] = [];
  private planned: Planned[] = [];
  private readonly changedOps = new Set<Operation>();
  private readonly results: OpResult[] = [];
  private readonly requests = new Map<string, { fact: Fact<unknown>; waiters: ((v: unknown) => void)[]; failers: ((e: unknown) => void)[] }>();
  private wake: () => void = () => {};
  private roundTrips = 0;
  private readonly outputs: Record<string, unknown> = {};
  private shell?: Promise<ShellSession>;
  /** Under --dry: facts an earlier planned change alters without saying how; they hold the host's current value. */
  private readonly uncertain = new Set<string>();
  private readonly guessed = new Set<string>();

  constructor(
    private readonly record: HostRecord,
    private readonly playbook: Playbook<I>,
    private readonly conn: Connection,
    private readonly options: HostRunOptions<I>,
  ) {}

  async execute(): Promise<HostResult> {
    const started = Date.now();
    const finish = (extra: { error?: string; unreachable?: boolean } = {}) =>
      summarize(this.record.name, this.results, { ...extra, roundTrips: this.roundTrips, durationMs: Date.now() - started, outputs: this.outputs, guessed: [...this.guessed] });
    try {
      this.recalled = (await this.options.memory?.recall()) ?? [];
      await this.drive();
      await this.settle([]);
      if (!this.options.dry) await this.roundTrip(this.takeForApply(), []);
      await this.options.memory?.remember([...this.read.values()].map(rememberFact));
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
      for (const b of batch) {
        if (this.uncertain.has(b.fact.key)) this.guessed.add(b.fact.key);
        for (const w of b.waiters) w(this.lookupReal(b.fact)?.value);
      }
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
      const missing = uniqueFacts([
        ...this.pending.flatMap((op) => op.facts).filter((f) => !this.lookup(f)),
        ...wanted.filter((f) => !this.lookupReal(f)),
      ]);
      const applyFirst = !this.options.dry && missing.some((f) => this.isStale(f));
      const apply = applyFirst ? this.takeForApply() : [];
      if (missing.length > 0 || apply.length > 0) await this.roundTrip(apply, missing);

      while (this.pending.length > 0) {
        const op = this.pending[0]!;
        // A fact an earlier change altered, without saying how, is read again first.
        if (op.facts.some((f) => !this.lookup(f))) break;
        this.pending.shift();
        this.planOne(op);
      }
      if (this.pending.length > 0) continue;
      if (wanted.every((f) => this.lookupReal(f))) return;
    }
  }

  /** A fact's value for planning: read, remembered from last time, or predicted by a planned change. */
  private lookup(fact: Fact<unknown>): Known | undefined {
    const known = this.cache.get(fact.key);
    if (known) return known;
    const remembered = this.remembered.get(fact.key);
    if (!remembered) return undefined;
    this.remembered.delete(fact.key);
    const value = claim(remembered, fact);
    if (value === NOT_THE_SAME) return undefined;
    const entry = { fact, value };
    this.cache.set(fact.key, entry);
    this.read.set(fact.key, fact);
    return entry;
  }

  /** The playbook itself sees only what the host said; a prediction waits for the change to apply (under --dry it is all there is). */
  private lookupReal(fact: Fact<unknown>): Known | undefined {
    const known = this.lookup(fact);
    return known && (!known.predicted || this.options.dry) ? known : undefined;
  }

  private planOne(op: Operation): void {
    if (this.options.dry && op.facts.some((f) => this.uncertain.has(f.key))) {
      // Planning on the value from before would guess: say so, and predict nothing.
      this.results.push({ name: op.name, status: 'changed', uncertain: true, summary: 'may change: an earlier change alters what it reads' });
      this.markUncertain(op.touches, new Set());
      return;
    }
    let change: Change | undefined;
    try {
      change = op.plan(
        (fact) => {
          const known = this.lookup(fact);
          if (!known) throw new Error(`${op.name} read fact ${fact.key} it did not declare`);
          return known.value as never;
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
    this.forgetAltered(op, change);
  }

  /**
   * After a planned change, a fact it may alter holds what the change
   * predicts, or nothing until it is read again. Under --dry nothing is
   * applied, so the value from before stays as the best guess.
   */
  private forgetAltered(op: Operation, change: Change): void {
    const predicted = new Map((change.predicts ?? []).map((p) => [p.fact.key, p]));
    if (this.options.dry) this.markUncertain(op.touches, new Set(predicted.keys()));
    for (const [key, known] of this.cache) {
      if (!predicted.has(key) && !this.options.dry && staleAfter(known.fact, op.touches)) this.cache.delete(key);
    }
    for (const [key, remembered] of this.remembered) {
      if (predicted.has(key) || (!this.options.dry && staleAfter(remembered.fact, op.touches))) this.remembered.delete(key);
    }
    for (const p of predicted.values()) {
      this.cache.set(p.fact.key, { fact: p.fact, value: p.value, predicted: true });
      this.uncertain.delete(p.fact.key);
    }
  }

  /** Under --dry, what a change alters without a prediction is known only once applied; facts read later count too. */
  private markUncertain(touches: readonly string[], predicted: ReadonlySet<string>): void {
    const facts = [...this.cache.values()].map((k) => k.fact);
    for (const f of [...facts, ...[...this.remembered.values()].map((r) => r.fact)]) {
      if (!predicted.has(f.key) && staleAfter(f, touches)) this.uncertain.add(f.key);
    }
    this.uncertainTouches.push(touches);
  }

  private readonly uncertainTouches: (readonly string[])[] = [];

  /** Whether a change planned but not yet applied may alter this fact. */
  private isStale(fact: Fact<unknown>): boolean {
    return this.planned.some((p) => staleAfter(fact, p.op.touches));
  }

  private takeForApply(): Planned[] {
    const taken = this.planned;
    this.planned = [];
    return taken;
  }

  /** One exchange on the host's shell: apply these changes, then read these facts. */
  private async roundTrip(apply: Planned[], probe: Fact<unknown>[]): Promise<void> {
    if (apply.length === 0 && probe.length === 0) return;
    // The first facts read bring along what the playbook read here last time.
    const recalled = probe.length > 0 ? this.takeRecalled(probe) : [];
    const facts = [...probe, ...recalled];
    const nonce = newNonce();
    const script = [renderApplyScript(apply.map((p) => p.change), nonce), renderFactScript(facts, nonce)]
      .filter(Boolean)
      .join('\n');
    this.progress(apply.length ? `applying ${apply.length} change(s)` : `reading ${probe.length} fact(s)`);
    this.roundTrips++;
    const timeouts = this.options.timeouts ?? DEFAULT_TIMEOUTS;
    this.shell ??= this.conn.shell({ become: this.playbook.become ?? true, deadline: { ms: timeouts.roundTripMs, step: 'while opening the shell session' } });
    const out = await (await this.shell).run(script, deadlineFor(apply, nonce, timeouts));

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
    if (facts.length === 0) return;
    let values: Map<string, unknown>;
    try {
      values = parseFactOutput(facts, rest, nonce);
    } catch (err) {
      throw new HostFailed(`reading facts failed (exit ${out.code}): ${firstLines(out.stderr) || errorMessage(err)}`);
    }
    for (const f of probe) {
      this.cache.set(f.key, { fact: f, value: values.get(f.key) });
      this.read.set(f.key, f);
      if (this.options.dry && this.uncertainTouches.some((t) => staleAfter(f, t))) this.uncertain.add(f.key);
    }
    for (const f of recalled) this.remembered.set(f.key, { fact: f, raw: values.get(f.key) });
  }

  private takeRecalled(probe: readonly Fact<unknown>[]): Fact<unknown>[] {
    const asked = new Set(probe.map((f) => f.key));
    const facts = this.recalled.filter((r) => !asked.has(r.key) && !this.cache.has(r.key)).map(recalledFact);
    this.recalled = [];
    return facts;
  }

  private failRequests(err: unknown): void {
    for (const r of this.requests.values()) for (const f of r.failers) f(err);
    this.requests.clear();
  }

  private progress(message: string): void {
    this.options.onProgress?.(message);
  }
}

/**
 * A round trip that applies changes gets the apply step's longer limit, and
 * its timeout names the change it stopped in: the first whose end marker had
 * not come back.
 */
function deadlineFor(apply: readonly Planned[], nonce: string, timeouts: Timeouts): Deadline {
  if (apply.length === 0) return { ms: timeouts.roundTripMs, step: 'while gathering facts' };
  return {
    ms: timeouts.applyMs,
    step: (soFar) => {
      const stuck = apply[parseApplyOutput(apply.length, soFar, nonce).applied.length];
      return stuck ? `during apply of ${stuck.op.name}` : 'while gathering facts after the changes';
    },
  };
}

function uniqueFacts(facts: readonly Fact<unknown>[]): Fact<unknown>[] {
  const seen = new Map<string, Fact<unknown>>();
  for (const f of facts) if (!seen.has(f.key)) seen.set(f.key, f);
  return [...seen.values()];
}

function firstLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ');
}
