import type { Fact } from '../facts/fact.js';
import type { Prediction } from '../ops/operation.js';
import { claim, NOT_THE_SAME, recalledFact, type RememberedFact, type RememberedValue } from './fact-memory.js';
import { staleAfter } from './staleness.js';

/** A fact's value as the book has it. */
export interface Known {
  fact: Fact<unknown>;
  value: unknown;
  /** What a planned change says the host will read once it is applied; not read yet. */
  predicted?: boolean;
}

/**
 * Everything one run knows about one host's facts, and when each goes stale:
 *
 * - known: read from the host in this run, or predicted by a planned change;
 * - remembered: the answers to what the playbook read here last time, read
 *   up front and not yet asked for (they serve only the same fact);
 * - unapplied: what the changes planned and not yet applied may alter.
 *
 * A planned change forgets every known or remembered value it may alter
 * (`staleAfter`, the one rule), unless it predicts it. Under --dry nothing is
 * applied: what a change alters without predicting keeps its value from
 * before, marked uncertain, and the playbook sees predictions as if applied.
 */
export class FactBook {
  private readonly known = new Map<string, Known>();
  private readonly remembered = new Map<string, RememberedValue>();
  /** Facts whose answers came from the host in this run (remembered for next time). */
  private readonly readFromHost = new Map<string, Fact<unknown>>();
  /** Last run's facts, not yet sent: they go with the first facts read. */
  private toRecall: readonly RememberedFact[] = [];
  /** The touches of changes planned but not applied (under --dry: every planned change). */
  private unapplied: (readonly string[])[] = [];
  /** Under --dry: facts an earlier planned change alters without saying how; they hold the host's current value. */
  private readonly uncertain = new Set<string>();

  constructor(private readonly dry: boolean) {}

  /** What the playbook read on this host last time: sent with the first facts read. */
  recall(facts: readonly RememberedFact[]): void {
    this.toRecall = facts;
  }

  /** A fact's value for planning: read, remembered from last time, or predicted by a planned change. */
  forPlanning(fact: Fact<unknown>): Known | undefined {
    const known = this.known.get(fact.key);
    if (known) return known;
    const remembered = this.remembered.get(fact.key);
    if (!remembered) return undefined;
    this.remembered.delete(fact.key);
    const value = claim(remembered, fact);
    if (value === NOT_THE_SAME) return undefined;
    const entry = { fact, value };
    this.known.set(fact.key, entry);
    this.readFromHost.set(fact.key, fact);
    return entry;
  }

  /** The playbook itself sees only what the host said; a prediction waits for its change to apply (under --dry it is all there is). */
  forPlaybook(fact: Fact<unknown>): Known | undefined {
    const known = this.forPlanning(fact);
    return known && (!known.predicted || this.dry) ? known : undefined;
  }

  /** Whether a change planned and not applied yet may alter this fact, so it must be applied before the fact is read. */
  awaitsApply(fact: Fact<unknown>): boolean {
    return this.unapplied.some((touches) => staleAfter(fact, touches));
  }

  /** Under --dry: whether this fact's value is from before a change that alters it. */
  isUncertain(fact: Fact<unknown>): boolean {
    return this.uncertain.has(fact.key);
  }

  /** What the host answered in a round trip: the facts asked for, and the stand-ins for last run's facts. */
  answered(read: readonly Fact<unknown>[], recalled: readonly Fact<unknown>[], values: ReadonlyMap<string, unknown>): void {
    for (const f of read) {
      this.known.set(f.key, { fact: f, value: values.get(f.key) });
      this.readFromHost.set(f.key, f);
      if (this.dry && this.awaitsApply(f)) this.uncertain.add(f.key);
    }
    for (const f of recalled) this.remembered.set(f.key, { fact: f, raw: values.get(f.key) });
  }

  /**
   * A change was planned: what it may alter holds what it predicts, or
   * nothing until it is read again (under --dry, the value from before,
   * marked uncertain).
   */
  changePlanned(touches: readonly string[], predicts: readonly Prediction[] = []): void {
    const predicted = new Map(predicts.map((p) => [p.fact.key, p]));
    if (this.dry) this.markUncertain(touches, predicted);
    else {
      for (const [key, known] of this.known) {
        if (!predicted.has(key) && staleAfter(known.fact, touches)) this.known.delete(key);
      }
    }
    for (const [key, remembered] of this.remembered) {
      if (predicted.has(key) || (!this.dry && staleAfter(remembered.fact, touches))) this.remembered.delete(key);
    }
    for (const p of predicted.values()) {
      this.known.set(p.fact.key, { fact: p.fact, value: p.value, predicted: true });
      this.uncertain.delete(p.fact.key);
    }
    this.unapplied.push(touches);
  }

  /** The planned changes were applied; under --dry nothing ever is. */
  applied(): void {
    if (!this.dry) this.unapplied = [];
  }

  /** Last run's facts, once, to go with the first facts read: those not asked for now and not known. */
  takeRecalled(asked: readonly Fact<unknown>[]): Fact<unknown>[] {
    const keys = new Set(asked.map((f) => f.key));
    const facts = this.toRecall.filter((r) => !keys.has(r.key) && !this.known.has(r.key)).map(recalledFact);
    this.toRecall = [];
    return facts;
  }

  /** Every fact read from the host in this run, for next time. */
  readFacts(): Fact<unknown>[] {
    return [...this.readFromHost.values()];
  }

  private markUncertain(touches: readonly string[], predicted: ReadonlyMap<string, Prediction>): void {
    const facts = [...[...this.known.values()].map((k) => k.fact), ...[...this.remembered.values()].map((r) => r.fact)];
    for (const f of facts) if (!predicted.has(f.key) && staleAfter(f, touches)) this.uncertain.add(f.key);
  }
}
