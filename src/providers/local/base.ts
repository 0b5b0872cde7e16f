import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { withFileLock } from '../../core/lock.js';
import { PccError } from '../../core/errors.js';
import { writeOwnedFile } from '../../core/files.js';
import type { Progress } from '../../core/progress.js';
import { run, runAll } from './exec.js';
import { unmountBelow } from './mounts.js';
import {
  BASE_FILES,
  BASE_SUITE,
  DEBIAN_FALLBACK_MIRROR,
  debianMirrorFromSources,
  debootstrapArgv,
  finishCommands,
  recipeHash,
} from './recipe.js';

/** Where the base for the current recipe lives (complete, or not there at all). */
export function basePath(cacheDir: string): string {
  return path.join(cacheDir, `${BASE_SUITE}-${recipeHash()}`);
}

/** LOCAL_MIRROR, else the first Debian mirror apt already uses, else deb.debian.org. */
export function chooseMirror(configured: string | undefined, aptDir = '/etc/apt'): string {
  if (configured) return configured;
  const files = [path.join(aptDir, 'sources.list')];
  try {
    const dir = path.join(aptDir, 'sources.list.d');
    for (const n of readdirSync(dir).sort()) if (n.endsWith('.list') || n.endsWith('.sources')) files.push(path.join(dir, n));
  } catch {
    // no sources.list.d: fine
  }
  const texts = files.flatMap((f) => {
    try {
      return [readFileSync(f, 'utf8')];
    } catch {
      return [];
    }
  });
  return debianMirrorFromSources(texts) ?? DEBIAN_FALLBACK_MIRROR;
}

/**
 * The base for the current recipe, built if missing. It is built in a temp
 * dir next to its final place and renamed there only when complete, under a
 * lock, so that two pcc runs never build twice and a half-built base (a
 * crash, Ctrl-C) is never booted.
 */
export async function ensureBase(options: {
  cacheDir: string;
  mirror?: string;
  progress: Progress;
  /** Fills a dir with the base; the default is debootstrap plus the recipe's finishing steps. */
  build?: (dir: string, mirror: string) => Promise<void>;
}): Promise<string> {
  const finalDir = basePath(options.cacheDir);
  if (existsSync(finalDir)) return finalDir;

  await mkdir(options.cacheDir, { recursive: true, mode: 0o755 });
  // Another run may be building right now: wait for it (a build is ~2 min).
  return withFileLock(
    {
      lockfile: `${finalDir}.lock`,
      waitSeconds: 900,
      what: `the base in ${options.cacheDir}`,
      onWait: (m) => options.progress.note(`local: ${m}`),
    },
    async () => {
      if (existsSync(finalDir)) return finalDir;
      await removeAbandonedBuilds(options.cacheDir, path.basename(finalDir));
      const buildDir = path.join(options.cacheDir, `.build-${path.basename(finalDir)}-${process.pid}`);
      const mirror = chooseMirror(options.mirror);
      options.progress.note(`local: building the Debian base once (debootstrap from ${mirror}, 2 to 4 minutes)`);
      try {
        await (options.build ?? buildBase)(buildDir, mirror);
        await rename(buildDir, finalDir);
      } catch (err) {
        await discard(buildDir);
        if (err instanceof PccError) {
          throw new PccError(`${err.message}; check LOCAL_MIRROR (now ${mirror}) and the network, then retry`);
        }
        throw err;
      }
      options.progress.note(`local: base ready in ${finalDir}`);
      return finalDir;
    },
  );
}

export async function buildBase(dir: string, mirror: string): Promise<void> {
  await run(debootstrapArgv(dir, mirror));
  for (const [rel, content] of Object.entries(BASE_FILES)) await writeOwnedFile(path.join(dir, rel), content);
  await runAll(finishCommands(dir));
}

/** Leftovers of builds that crashed; safe because we hold the lock. */
async function removeAbandonedBuilds(cacheDir: string, baseName: string): Promise<void> {
  for (const n of readdirSync(cacheDir)) {
    if (n.startsWith(`.build-${baseName}-`)) await discard(path.join(cacheDir, n));
  }
}

/** debootstrap mounts /proc and /sys inside the target; never rm -rf through them. */
async function discard(dir: string): Promise<void> {
  await unmountBelow(dir);
  await rm(dir, { recursive: true, force: true });
}
