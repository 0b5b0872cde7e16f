/**
 * Every error pcc expects is a PccError of one of six kinds (PccErrorKind),
 * so the CLI maps each kind to its exit code in one place
 * (src/cli/exit-codes.ts) and prints `message` as one line. Anything that is
 * not a PccError is a bug and gets a stack trace.
 *
 * - UsageError: the command line asks for something it cannot (an unknown
 *   command or flag, a missing argument, a flag for another provider, destroy
 *   without --yes and no terminal): exit 2.
 * - UserInputError: the input is wrong (config, flag, pattern, template,
 *   playbook, Dockerfile folder): the message names the file or flag and the fix.
 * - UnreachableError: a host could not be reached or its connection died
 *   (Ansible's UNREACHABLE).
 * - HostFailedError: a host was reached but the work on it failed.
 * - OperationRefusedError: an operation cannot be planned against what the
 *   host has (a directory where a file should be, JSON that does not parse).
 * - InterruptedError: Ctrl-C or SIGTERM stopped the work: exit 130.
 *
 * A plain PccError is of the kind 'input', as UserInputError is.
 */
export type PccErrorKind = 'input' | 'usage' | 'unreachable' | 'host-failed' | 'refused' | 'interrupted';

export class PccError extends Error {
  readonly kind: PccErrorKind;

  constructor(message: string, options: { cause?: unknown; kind?: PccErrorKind } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PccError';
    this.kind = options.kind ?? 'input';
  }
}

/** The command line asks for what pcc cannot do (yargs' refusals too); the message says how to write it. */
export class UsageError extends PccError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, kind: 'usage' });
    this.name = 'UsageError';
  }
}

/** The user's input (config, flag, pattern, template, playbook, folder) is wrong; the message says the fix. */
export class UserInputError extends PccError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, kind: 'input' });
    this.name = 'UserInputError';
  }
}

/** The host could not be reached, or the connection died. */
export class UnreachableError extends PccError {
  constructor(
    readonly host: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, kind: 'unreachable' });
    this.name = 'UnreachableError';
  }
}

/** The host answered, but the work on it failed (a step exited non-zero, a script stopped early). */
export class HostFailedError extends PccError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, kind: 'host-failed' });
    this.name = 'HostFailedError';
  }
}

/** An operation refuses to plan against what the host has; the message names the path and why. */
export class OperationRefusedError extends PccError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, kind: 'refused' });
    this.name = 'OperationRefusedError';
  }
}

/** The user pressed Ctrl-C (or pcc got SIGTERM): the work stopped where the message says. */
export class InterruptedError extends PccError {
  constructor(message: string) {
    super(message, { kind: 'interrupted' });
    this.name = 'InterruptedError';
  }
}

export function isPccError(err: unknown): err is PccError {
  return err instanceof PccError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
