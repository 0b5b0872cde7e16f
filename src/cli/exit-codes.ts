import { isPccError, type PccErrorKind } from '../core/errors.js';

/**
 * pcc's exit codes, in one place (the README's table says the same):
 * 0 ok, 1 an error in pcc or its input, 2 usage (a flag or command yargs
 * refused), 3 some host failed, 4 some host unreachable and none failed,
 * 130 interrupted (Ctrl-C or SIGTERM).
 */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  hostFailed: 3,
  unreachable: 4,
  interrupted: 130,
} as const;

const byKind: Record<PccErrorKind, number> = {
  input: EXIT.error,
  usage: EXIT.usage,
  refused: EXIT.error,
  'host-failed': EXIT.hostFailed,
  unreachable: EXIT.unreachable,
  interrupted: EXIT.interrupted,
};

/** The exit code for an error that ended the command. */
export function exitCodeForError(err: unknown): number {
  return isPccError(err) ? byKind[err.kind] : EXIT.error;
}

/** What a command that worked on many hosts exits with: a failure outranks an unreachable host. */
export function exitCodeForHosts(hosts: readonly { failed?: boolean | number; unreachable?: boolean }[]): number {
  if (hosts.some((h) => Boolean(h.failed) && !h.unreachable)) return EXIT.hostFailed;
  if (hosts.some((h) => h.unreachable)) return EXIT.unreachable;
  return EXIT.ok;
}
