import { readFileSync } from 'node:fs';
import { readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { PccError } from './errors.js';
import { lockLibrary } from './lock-library.js';

/**
 * Who holds a lock: written inside proper-lockfile's lock directory right
 * after it is made, so it always belongs to that very lock and never to an
 * earlier holder of the same path.
 */
interface Owner {
  pid: number;
  /** The process's start time (/proc/PID/stat), so a recycled pid is not taken for the holder. */
  start?: string;
  host: string;
}

export interface LockOptions {
  /** The lock directory (proper-lockfile's `lockfilePath`). */
  lockDir: string;
  /** What the lock guards, for messages: `.pcc/state.json`. */
  what: string;
  /** How long to wait for a live holder before giving up. */
  waitMs: number;
  /** Told once, at once, when another live pcc holds the lock. */
  onWait?: (message: string) => void;
  /** proper-lockfile's stale time (it refreshes the mtime every half of it); shorter only in tests. */
  staleMs?: number;
}

const OWNER_FILE = 'owner';
/** A lock without an owner file older than this was left by a process killed between mkdir and the write. */
const OWNERLESS_GRACE_MS = 2_000;
/** Backstop for holders pcc cannot check (another machine sharing the folder): their lock is refreshed every 15 s. */
const STALE_MS = 120_000;

/**
 * A lock between pcc processes. A holder that is alive is named at once
 * ("waiting for the pcc run with pid N"); a holder that is dead (killed -9)
 * is taken over at once instead of after proper-lockfile's mtime timeout.
 */
export async function acquireLock(options: LockOptions): Promise<() => Promise<void>> {
  const lockfile = await lockLibrary();
  const deadline = Date.now() + options.waitMs;
  let told = false;
  let delay = 20;
  for (;;) {
    try {
      const release = await lockfile.lock(options.lockDir, {
        lockfilePath: options.lockDir,
        realpath: false,
        stale: options.staleMs ?? STALE_MS,
        retries: 0,
        // A late mtime refresh (a busy machine) is no reason to end the run: a live holder is known by its pid.
        onCompromised: () => {},
      });
      const ownerFile = `${options.lockDir}/${OWNER_FILE}`;
      // proper-lockfile refreshes the lock's mtime and treats one it did not set as a lost lock, and a
      // file made inside a directory moves its mtime: so the mtime it recorded is put back.
      const { mtime } = await stat(options.lockDir);
      await writeFile(ownerFile, JSON.stringify(selfOwner()), { mode: 0o644 });
      await utimes(options.lockDir, mtime, mtime);
      return async () => {
        // proper-lockfile removes the directory with rmdir, which wants it empty.
        await unlink(ownerFile).catch(() => undefined);
        await release().catch(async (err: NodeJS.ErrnoException) => {
          // A refresh that came between the unlink and here saw the moved mtime: the lock is still ours to remove.
          if (err.code !== 'ERELEASED') throw err;
          await rm(options.lockDir, { recursive: true, force: true });
        });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    }
    const holder = await readOwner(options.lockDir);
    if (holder === 'dead' || holder === 'ownerless') {
      await takeOver(options.lockDir);
      continue;
    }
    if (!told && options.onWait) {
      options.onWait(
        holder === 'unknown' ? `waiting for another pcc run (it holds ${options.what})` : `waiting for the pcc run with pid ${holder.pid} (it holds ${options.what})`,
      );
    }
    told = true;
    if (Date.now() >= deadline) {
      const who = holder === 'unknown' ? 'another pcc run' : `the pcc run with pid ${holder.pid}`;
      throw new PccError(`${options.what} is locked by ${who}; wait for it to finish and try again`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(500, Math.round(delay * 1.5));
  }
}

function processStart(pid: number | 'self'): string | undefined {
  try {
    // Field 22 (starttime); the command name in field 2 may hold spaces, so count from its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function selfOwner(): Owner {
  return { pid: process.pid, start: processStart('self'), host: hostname() };
}

/** `dead` and `ownerless` locks may be taken over; `unknown` holders are waited for. */
async function readOwner(lockDir: string): Promise<Owner | 'dead' | 'ownerless' | 'unknown'> {
  let text: string;
  try {
    text = await readFile(`${lockDir}/${OWNER_FILE}`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return 'unknown';
    return ownerlessFor(lockDir);
  }
  let owner: Owner;
  try {
    owner = JSON.parse(text) as Owner;
  } catch {
    // Half-written by a holder killed mid-write.
    return ownerlessFor(lockDir);
  }
  if (typeof owner.pid !== 'number' || owner.host !== hostname()) return 'unknown';
  return isAlive(owner) ? owner : 'dead';
}

async function ownerlessFor(lockDir: string): Promise<'ownerless' | 'unknown'> {
  try {
    const { mtimeMs } = await stat(lockDir);
    return Date.now() - mtimeMs > OWNERLESS_GRACE_MS ? 'ownerless' : 'unknown';
  } catch {
    // Gone meanwhile: the next attempt takes it.
    return 'unknown';
  }
}

function isAlive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // Alive, unless the pid now belongs to a process that started later.
  const start = processStart(owner.pid);
  return owner.start === undefined || start === undefined || start === owner.start;
}

/**
 * Moves the dead holder's lock aside and removes it. The rename is atomic, so
 * of two waiters only one takes it; the other finds the path free or taken
 * by the winner. Whoever renamed checks it got the dead lock and not a fresh one.
 */
async function takeOver(lockDir: string): Promise<void> {
  const aside = `${lockDir}.dead-${process.pid}-${Date.now()}`;
  try {
    await rename(lockDir, aside);
  } catch {
    return;
  }
  const owner = await readOwner(aside);
  if (owner !== 'dead' && owner !== 'ownerless') {
    // A live holder made a new lock between our look and the rename: give it back.
    await rename(aside, lockDir).catch(() => undefined);
    return;
  }
  await rm(aside, { recursive: true, force: true });
}
