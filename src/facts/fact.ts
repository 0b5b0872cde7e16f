/**
 * Something pcc reads from a host before deciding what to change. A fact is a
 * sh snippet whose stdout is parsed; many facts travel in one round trip.
 */
export interface Fact<T> {
  /** Identifies the fact in the per-run cache: same key, same answer. */
  readonly key: string;
  readonly script: string;
  parse(stdout: string, exitCode: number): T;
  /** Paths whose state the answer depends on. Undefined: the system as a whole. */
  readonly reads?: readonly string[];
  /** Hardware facts that no operation changes (cpu count, GPU on the bus). */
  readonly stable?: boolean;
  /**
   * Facts of one group are read by one script for all of them (one `stat`
   * for every file instead of one per file): on a busy host each command
   * started costs about a millisecond. `script` stays the fact read alone.
   */
  readonly group?: { readonly of: FactGroup<T>; readonly arg: string };
}

/** How the facts of one group are read together: one script, values in argument order. */
export interface FactGroup<T> {
  readonly id: string;
  script(args: readonly string[]): string;
  parse(stdout: string, args: readonly string[]): T[];
}

export function defineFact<T>(fact: Fact<T>): Fact<T> {
  return fact;
}
