import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { withFileLock } from '../core/lock.js';
import type { Project } from '../core/project.js';

/** Serializes this process's changes, so that parallel host connections do not queue on the file lock. */
let chain: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` holding pcc's lock on ~/.ssh, so that two pcc processes (one
 * acquiring, one destroying) cannot lose each other's aliases, keys or the
 * Include line. Creates ~/.ssh (0700) when it is missing and tells `fn`.
 */
export function withSshLock<T>(project: Project, fn: (createdSshDir: boolean) => Promise<T>): Promise<T> {
  const run = chain.then(() => locked(project, fn));
  chain = run.catch(() => undefined);
  return run;
}

async function locked<T>(project: Project, fn: (createdSshDir: boolean) => Promise<T>): Promise<T> {
  const createdSshDir = !existsSync(project.sshDir);
  await mkdir(project.sshDir, { recursive: true, mode: 0o700 });
  return withFileLock({ lockfile: path.join(project.sshDir, '.pcc.lock'), what: `${project.sshDir}/.pcc.lock`, waitSeconds: 60 }, () =>
    fn(createdSshDir),
  );
}
