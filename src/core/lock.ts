import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, PccError } from './errors.js';
import { lockLibrary } from './lock-library.js';

export interface FileLockOptions {
  /** The lock file itself (proper-lockfile makes it a directory). */
  lockfile: string;
  /** How long to wait for another holder, in seconds. */
  waitSeconds: number;
  /** The one-line error when the wait runs out: what is locked and what to do. */
  busy: string;
}

/**
 * The one way pcc locks: proper-lockfile on a lock path of its own (so
 * in-process holders of two locks on one directory never mix), polled at a
 * pace that suits the wait. Every lock site (state, ~/.ssh, local hosts, the
 * base build, local subnets) goes through here.
 */
export async function withFileLock<T>(options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(options.lockfile), { recursive: true, mode: 0o700 });
  const short = options.waitSeconds <= 30;
  const retries = short
    ? { retries: 50, factor: 1.3, minTimeout: 20, maxTimeout: 500 }
    : { retries: options.waitSeconds, factor: 1, minTimeout: 1000, maxTimeout: 1000 };
  let release: () => Promise<void>;
  try {
    release = await (await lockLibrary()).lock(options.lockfile, {
      lockfilePath: options.lockfile,
      realpath: false,
      stale: 30_000,
      retries,
    });
  } catch (err) {
    throw new PccError(`${options.busy} (${errorMessage(err)})`);
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}
