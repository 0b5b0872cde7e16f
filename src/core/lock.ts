import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { acquireLock } from './process-lock.js';

export interface FileLockOptions {
  /** The lock path (proper-lockfile makes it a directory, with the holder's pid inside). */
  lockfile: string;
  /** What the lock guards, for messages: `.pcc/state.json`, `the base in ~/.cache/pcc/base`. */
  what: string;
  /** How long to wait for a live holder, in seconds. */
  waitSeconds: number;
  /** Told once, at once, when another live pcc holds the lock ("waiting for the pcc run with pid N"). */
  onWait?: (message: string) => void;
}

/**
 * The one way pcc locks (state, ~/.ssh, local hosts, the base build, local
 * subnets): a live holder is named at once and waited for, a dead one's lock
 * (a kill -9) is taken over at once (see process-lock.ts).
 */
export async function withFileLock<T>(options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(options.lockfile), { recursive: true, mode: 0o700 });
  const release = await acquireLock({
    lockDir: options.lockfile,
    what: options.what,
    waitMs: options.waitSeconds * 1000,
    ...(options.onWait ? { onWait: options.onWait } : {}),
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}
