import { OperationRefusedError } from '../core/errors.js';
import { commandSucceeds } from '../facts/files.js';
import type { Operation } from './operation.js';

/**
 * A check that the host is as an earlier change should have left it: it
 * changes nothing, and when the sh check fails it refuses with `otherwise`
 * (an OperationRefusedError: the host fails, and `--dry` shows a failure, not
 * a command that would run). A check without paths reads the system at
 * large, so it is read again after any earlier change to the system (a
 * restart) is applied; under `--dry` such a check says "may change".
 */
export function check(name: string, options: { succeeds: string; otherwise: string; reads?: readonly string[] }): Operation {
  const holds = commandSucceeds(options.succeeds, options.reads);
  return {
    name,
    facts: [holds],
    touches: [],
    plan(read) {
      if (!read(holds)) throw new OperationRefusedError(options.otherwise);
      return undefined;
    },
  };
}
