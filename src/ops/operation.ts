import type { Fact } from '../facts/fact.js';
import type { Command } from '../remote/shell.js';

export type FactReader = <T>(fact: Fact<T>) => T;

/** What the plan knows about earlier operations on the same host, e.g. to restart after a config change. */
export interface PlanContext {
  changed(op: Operation): boolean;
}

/** What an operation would do to a host. */
export interface Change {
  commands: Command[];
  /** One line for the recap, e.g. `create`, `mode 0644 → 0600`. */
  summary: string;
  /** Unified diff of file content, made only for `--dry`. */
  diff?: () => string | undefined;
  /**
   * What facts will read once the commands ran, where the change knows it
   * exactly (a file written whole, a mode set), so a later operation on the
   * same path plans without reading the host again.
   */
  predicts?: readonly Prediction[];
}

export interface Prediction {
  fact: Fact<unknown>;
  value: unknown;
}

export { ANYTHING, SYSTEM } from '../facts/scope.js';

/**
 * An idempotent operation as a pure builder: it names the facts it needs and,
 * given them, returns the commands that bring the host to the wanted state,
 * or nothing when the host is already right.
 */
export interface Operation {
  readonly name: string;
  readonly facts: readonly Fact<unknown>[];
  /** What its changes may alter (paths and system parts, see facts/scope.ts), so the runner knows which facts go stale. */
  readonly touches: readonly string[];
  plan(read: FactReader, earlier: PlanContext): Change | undefined;
}
