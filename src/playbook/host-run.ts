import { errorMessage, HostFailedError, UnreachableError } from '../core/errors.js';
import { redactDiff } from '../core/secrets.js';
import type { Fact } from '../facts/fact.js';
import type { Change, Operation } from '../ops/operation.js';
import type { RemoteShell } from '../remote/remote-shell.js';
import { DEFAULT_TIMEOUTS, type Deadline, type Timeouts } from '../remote/timeouts.js';
import type { HostRecord } from '../state/schema.js';
import type { HostContext, Playbook } from './define.js';
import { FactBook } from './fact-book.js';
import { rememberFact, type HostFactMemory } from './fact-memory.js';
import { summarize, type HostResult, type OpResult } from './result.js';
import { FactScheduler } from './scheduler.js';
import { lastLines, Wire } from './wire.js';

export interface HostRunOptions<I> {
  dry: boolean;
  input: I;
  vars: Readonly<Record<string, string>>;
  onProgress?: (message: string) => void;
  /** The facts this playbook read on this host last time, read again up front. */
  memory?: HostFactMemory;
  /** How long each round trip may take before the host counts as unreachable (default: pcc's settings' defaults). */
  timeouts?: Timeouts;
  /** Marks the parts of each round trip's output (default: a fresh random nonce); tests pin it to compare scripts by text. */
  nonce?: () => string;
}

/** Opens the host's shell, on the first round trip: as root or not (the playbook's `become`), within the deadline. */
export type ShellOpener = (options: { become: boolean; deadline: Deadline }) => Promise<RemoteShell>;

interface Planned {
  op: Operation;
  change: Change;
  result: OpResult;
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
 *
 * Three parts do the work: the FactBook knows each fact's value and when it
 * goes stale, the FactScheduler drives the playbook and batches what it
 * asks, and the Wire turns a round trip into one script on the host's shell.
 * What is left here is planning: the queue of operations, and when to apply.
 */
export class HostRun<I> {
  private readonly book: FactBook;
  private readonly scheduler: FactScheduler;
  private readonly wire: Wire;
  private readonly pending: Operation[] = [];
  private planned: Planned[] = [];
  private readonly changedOps = new Set<Operation>();
  private readonly results: OpResult[] = [];
  private roundTrips = 0;
  private readonly outputs: Record<string, unknown> = {};
  /** Under --dry: facts the playbook read that an earlier, unapplied change alters. */
  private readonly guessed = new Set<string>();

  constructor(
    private readonly record: HostRecord,
    private readonly playbook: Playbook<I>,
    openShell: ShellOpener,
    private readonly options: HostRunOptions<I>,
  ) {
    const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    const opening = { become: playbook.become ?? true, deadline: { ms: timeouts.roundTripMs, step: 'while opening the shell session' } };
    this.book = new FactBook(options.dry);
    this.wire = new Wire(() => openShell(opening), timeouts, options.nonce);
    this.scheduler = new FactScheduler(
      (facts) => this.settle(facts),
      (fact) => {
        if (this.book.isUncertain(fact)) this.guessed.add(fact.key);
        return this.book.forPlaybook(fact)?.value;
      },
    );
  }

  async execute(): Promise<HostResult> {
    const started = Date.now();
    const finish = (extra: { error?: string; unreachable?: boolean } = {}) =>
      summarize(this.record.name, this.results, { ...extra, roundTrips: this.roundTrips, durationMs: Date.now() - started, outputs: this.outputs, guessed: [...this.guessed] });
    try {
      this.book.recall((await this.options.memory?.recall()) ?? []);
      await this.scheduler.drive(() => this.playbook.run(this.context(), this.options.input));
      await this.settle([]);
      if (!this.options.dry) await this.roundTrip(this.takeForApply(), []);
      await this.options.memory?.remember(this.book.readFacts().map(rememberFact));
      this.progress(this.options.dry ? 'planned' : 'done');
      return finish();
    } catch (err) {
      this.scheduler.failAll(err);
      return finish({ error: errorMessage(err), unreachable: err instanceof UnreachableError });
    } finally {
      this.wire.close();
    }
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
      fact: (fact) => this.scheduler.ask(fact),
    };
  }

  /** Plans every pending operation and makes the wanted facts current. */
  private async settle(wanted: readonly Fact<unknown>[]): Promise<void> {
    for (;;) {
      const missing = uniqueFacts([
        ...this.pending.flatMap((op) => op.facts).filter((f) => !this.book.forPlanning(f)),
        ...wanted.filter((f) => !this.book.forPlaybook(f)),
      ]);
      const applyFirst = !this.options.dry && missing.some((f) => this.book.awaitsApply(f));
      const apply = applyFirst ? this.takeForApply() : [];
      if (missing.length > 0 || apply.length > 0) await this.roundTrip(apply, missing);

      while (this.pending.length > 0) {
        const op = this.pending[0]!;
        // A fact an earlier change altered, without saying how, is read again first.
        if (op.facts.some((f) => !this.book.forPlanning(f))) break;
        this.pending.shift();
        this.planOne(op);
      }
      if (this.pending.length > 0) continue;
      if (wanted.every((f) => this.book.forPlaybook(f))) return;
    }
  }

  private planOne(op: Operation): void {
    if (this.options.dry && op.facts.some((f) => this.book.isUncertain(f))) {
      // Planning on the value from before would guess: say so, and predict nothing.
      this.results.push({ name: op.name, status: 'changed', uncertain: true, summary: 'may change: an earlier change alters what it reads' });
      this.book.changePlanned(op.touches);
      return;
    }
    let change: Change | undefined;
    try {
      change = op.plan(
        (fact) => {
          const known = this.book.forPlanning(fact);
          if (!known) throw new Error(`${op.name} read fact ${fact.key} it did not declare`);
          return known.value as never;
        },
        { changed: (earlier) => this.changedOps.has(earlier) },
      );
    } catch (err) {
      this.results.push({ name: op.name, status: 'failed', error: errorMessage(err) });
      throw new HostFailedError(`${op.name}: ${errorMessage(err)}`, { cause: err });
    }
    if (!change) {
      this.results.push({ name: op.name, status: 'ok' });
      return;
    }
    const diff = this.options.dry ? change.diff?.() : undefined;
    // A file holding a secret: its diff says which line changes, not to what, whoever reads the result.
    const result: OpResult = { name: op.name, status: 'changed', summary: change.summary, diff: diff === undefined ? undefined : redactDiff(diff) };
    this.results.push(result);
    this.planned.push({ op, change, result });
    this.changedOps.add(op);
    this.book.changePlanned(op.touches, change.predicts);
  }

  private takeForApply(): Planned[] {
    const taken = this.planned;
    this.planned = [];
    this.book.applied();
    return taken;
  }

  /** One exchange on the host's shell: apply these changes, then read these facts. */
  private async roundTrip(apply: Planned[], probe: Fact<unknown>[]): Promise<void> {
    if (apply.length === 0 && probe.length === 0) return;
    // The first facts read bring along what the playbook read here last time.
    const recalled = probe.length > 0 ? this.book.takeRecalled(probe) : [];
    this.progress(apply.length ? `applying ${apply.length} change(s)` : `reading ${probe.length} fact(s)`);
    this.roundTrips++;
    const reply = await this.wire.roundTrip(
      apply.map((p) => ({ name: p.op.name, change: p.change })),
      [...probe, ...recalled],
    );
    apply.forEach((p, i) => {
      const a = reply.applied[i];
      if (!a) p.result.status = 'skipped';
      else if (a.exitCode !== 0) {
        p.result.status = 'failed';
        p.result.error = a.output || `exit code ${a.exitCode}`;
      }
    });
    const failedOp = apply.find((p) => p.result.status === 'failed');
    if (failedOp) throw new HostFailedError(`${failedOp.op.name}: ${lastLines(failedOp.result.error ?? '')}`);
    if (reply.stoppedEarly) throw new HostFailedError(reply.stoppedEarly);
    if (probe.length + recalled.length === 0) return;
    this.book.answered(probe, recalled, reply.values());
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
