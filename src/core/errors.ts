/**
 * An error the user can act on. The CLI prints `message` as one line and exits
 * non-zero; anything that is not a PccError is a bug and gets a stack trace.
 */
export class PccError extends Error {
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PccError';
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isPccError(err: unknown): err is PccError {
  return err instanceof PccError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
