import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Every file pcc owns goes through here: a crash mid-write leaves the old file
 * or the new one, never half of either.
 */
export async function writeOwnedFile(
  file: string,
  content: string | Buffer,
  /** `durable: false` skips the fsync, for caches that a crash may lose but never tear. */
  options: { mode?: number; durable?: boolean } = {},
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  // Loaded on first use: a run that only reads loads less before it connects.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(file, content, { mode: options.mode ?? 0o644, fsync: options.durable ?? true });
}

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
