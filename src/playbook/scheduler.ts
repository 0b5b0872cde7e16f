import type { Fact } from '../facts/fact.js';

interface Request {
  fact: Fact<unknown>;
  waiters: ((value: unknown) => void)[];
  failers: ((err: unknown) => void)[];
}

/**
 * Drives a playbook's `run` and batches what it asks: every fact requested
 * in the same tick (awaited together, or by code that runs before the next
 * `setImmediate`) goes to `answer` as one batch, which is what makes one
 * round trip of them. The scheduler knows nothing of hosts or staleness:
 * `answer` makes the facts current, `valueOf` then hands each waiter its value.
 */
export class FactScheduler {
  private readonly requests = new Map<string, Request>();
  private wake: () => void = () => {};

  constructor(
    private readonly answer: (facts: Fact<unknown>[]) => Promise<void>,
    private readonly valueOf: (fact: Fact<unknown>) => unknown,
  ) {}

  /** A fact the playbook awaits; it joins the batch of this tick. */
  ask<T>(fact: Fact<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = this.requests.get(fact.key) ?? { fact, waiters: [], failers: [] };
      entry.waiters.push(resolve as (v: unknown) => void);
      entry.failers.push(reject);
      this.requests.set(fact.key, entry);
      this.wake();
    });
  }

  /** Runs `run` to its end, answering its requests in batches; rejects with its failure or the first failed batch's. */
  async drive(run: () => void | Promise<void>): Promise<void> {
    let done = false;
    let failure: unknown;
    const running = Promise.resolve()
      .then(run)
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
        await this.answer(batch.map((b) => b.fact));
      } catch (err) {
        for (const b of batch) for (const f of b.failers) f(err);
        throw err;
      }
      for (const b of batch) {
        const value = this.valueOf(b.fact);
        for (const w of b.waiters) w(value);
      }
    }
    await running;
    if (failure !== undefined) throw failure;
  }

  /** The run ended early (the host failed): whatever still waits gets the error. */
  failAll(err: unknown): void {
    for (const r of this.requests.values()) for (const f of r.failers) f(err);
    this.requests.clear();
  }
}
