import type { Fact } from '../facts/fact.js';
import type { Operation } from '../ops/operation.js';
import type { HostRecord } from '../state/schema.js';

/** What a playbook's `run` sees for one host. */
export interface HostContext {
  readonly name: string;
  readonly record: HostRecord;
  /** Settings passed through from `config/*.env` plus the caller's vars. */
  readonly vars: Readonly<Record<string, string>>;
  /** Queue an operation; it is planned against facts and applied in order. */
  add(op: Operation): void;
  /** Read a fact. Facts asked for in the same tick travel in one round trip. */
  fact<T>(fact: Fact<T>): Promise<T>;
}

export interface Playbook {
  name: string;
  /** Run commands as root through sudo when the login user is not root. */
  become?: boolean;
  run(host: HostContext): void | Promise<void>;
}

export function definePlaybook(playbook: Playbook): Playbook {
  return playbook;
}
