import type { Fact } from '../facts/fact.js';
import type { Operation } from '../ops/operation.js';
import type { HostRecord } from '../state/schema.js';

/** What a playbook's `run` sees for one host. */
export interface HostContext {
  readonly name: string;
  readonly record: HostRecord;
  /** Variables for this host: config/vars.env < config/groups/<group>.env < config/hosts/<name>.env < --var. */
  readonly vars: Readonly<Record<string, string>>;
  /** Queue an operation; it is planned against facts and applied in order. */
  add(op: Operation): void;
  /** Read a fact. Facts asked for in the same tick travel in one round trip. */
  fact<T>(fact: Fact<T>): Promise<T>;
  /** Hand a value back to the caller in the host's result (e.g. what setup learned about the GPU). */
  output(key: string, value: unknown): void;
}

/**
 * A playbook. `input` is what the command that runs it computed beforehand
 * (pcc's own playbooks get the controller and overlay plan this way); user
 * playbooks run with `pcc run` get none.
 */
export interface Playbook<I = undefined> {
  name: string;
  /** Run commands as root through sudo when the login user is not root (default true). */
  become?: boolean;
  run(host: HostContext, input: I): void | Promise<void>;
}

export function definePlaybook<I = undefined>(playbook: Playbook<I>): Playbook<I> {
  return playbook;
}
