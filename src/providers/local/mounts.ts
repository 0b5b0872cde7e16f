import { readFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './exec.js';

export interface OverlayDirs {
  lower: string;
  upper: string;
  work: string;
  merged: string;
}

export function overlayMountArgv(d: OverlayDirs): string[] {
  return ['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${d.lower},upperdir=${d.upper},workdir=${d.work}`, d.merged];
}

export function umountArgv(target: string): string[] {
  return ['umount', target];
}

/** Mount points from /proc/mounts text (octal escapes such as `\040` decoded). */
export function parseMountPoints(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((p): p is string => p !== undefined && p.length > 0)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Mount points at or below `dir`, deepest first (the order to unmount them). */
export function mountsBelow(dir: string, mountsText = readFileSync('/proc/mounts', 'utf8')): string[] {
  const root = path.resolve(dir);
  return parseMountPoints(mountsText)
    .filter((p) => p === root || p.startsWith(`${root}/`))
    .sort((a, b) => b.split('/').length - a.split('/').length);
}

export function isMounted(dir: string): boolean {
  return mountsBelow(dir).includes(path.resolve(dir));
}

/** Unmount everything at or below `dir`; lazily if something still holds it. */
export async function unmountBelow(dir: string): Promise<void> {
  for (const p of mountsBelow(dir)) {
    await run(umountArgv(p), { allowFail: true });
    if (mountsBelow(p).includes(p)) await run(['umount', '-l', p], { allowFail: true });
  }
}
