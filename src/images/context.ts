import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

/** One entry of a build context, as Docker would send it. */
export interface ContextEntry {
  /** Slash-separated path inside the folder. */
  rel: string;
  kind: 'file' | 'dir' | 'link';
  /** Permission bits: the executable bit ends up in the image. */
  mode: number;
}

interface IgnoreRule {
  negate: boolean;
  test: (p: string) => boolean;
}

/**
 * The files of a build context, honouring `.dockerignore` with Docker's rules:
 * patterns in order, the last match wins, `!` re-includes, and a pattern that
 * matches a directory excludes what is inside it.
 */
export async function listContext(dir: string): Promise<ContextEntry[]> {
  const rules = parseDockerignore(await readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => ''));
  const hasExceptions = rules.some((r) => r.negate);
  const out: ContextEntry[] = [];

  async function walk(relDir: string): Promise<void> {
    const names = (await readdir(path.join(dir, relDir))).sort();
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const st = await lstat(path.join(dir, rel));
      const excluded = isExcluded(rules, rel);
      if (st.isDirectory()) {
        if (!excluded) out.push({ rel, kind: 'dir', mode: st.mode & 0o7777 });
        // Docker still looks inside an excluded directory when a `!` rule might re-include something there.
        if (!excluded || hasExceptions) await walk(rel);
      } else if (!excluded) {
        out.push({ rel, kind: st.isSymbolicLink() ? 'link' : 'file', mode: st.mode & 0o7777 });
      }
    }
  }
  await walk('');
  return out;
}

/**
 * The paths to ship to a builder elsewhere: the context plus the Dockerfile
 * and .dockerignore, which Docker always sends even when they are ignored.
 */
export async function contextPaths(dir: string): Promise<string[]> {
  const paths = (await listContext(dir)).map((e) => e.rel);
  for (const always of ['Dockerfile', '.dockerignore']) {
    if (!paths.includes(always) && (await lstat(path.join(dir, always)).catch(() => undefined))) paths.push(always);
  }
  return paths;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    let pattern = raw.trim();
    if (pattern === '') continue;
    const negate = pattern.startsWith('!');
    if (negate) pattern = pattern.slice(1).trim();
    pattern = path.posix.normalize(pattern.replace(/\\/g, '/'));
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    if (pattern.length > 1 && pattern.endsWith('/')) pattern = pattern.slice(0, -1);
    if (pattern === '' || pattern === '.') continue;
    rules.push({ negate, test: picomatch(pattern, { dot: true, nobrace: true, noextglob: true }) });
  }
  return rules;
}

/** moby's patternmatcher: a path is excluded when it or a parent matches the last applicable rule. */
export function isExcluded(rules: IgnoreRule[], rel: string): boolean {
  let excluded = false;
  const parents = parentPaths(rel);
  for (const rule of rules) {
    if (rule.negate !== excluded) continue;
    if (parents.some((p) => rule.test(p))) excluded = !rule.negate;
  }
  return excluded;
}

function parentPaths(rel: string): string[] {
  const parts = rel.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

export interface HashInput {
  dir: string;
  dockerfile: string;
  buildArgs: Readonly<Record<string, string>>;
  /** Image name to content hash, for the pcc images this one builds FROM. */
  dependencies: Readonly<Record<string, string>>;
}

/** Bump when what goes into the hash changes, so old records never match by accident. */
const HASH_FORMAT = 'pcc-image-hash/1';

/**
 * The content hash that decides whether an image must be rebuilt: the context's
 * files (names, modes, contents), the Dockerfile, the build args and the hashes
 * of the pcc images it builds on.
 */
export async function contentHash(input: HashInput): Promise<string> {
  const h = createHash('sha256');
  h.update(`${HASH_FORMAT}\n`);
  h.update(`dockerfile\0${sha256(await readFile(input.dockerfile))}\n`);
  for (const entry of await listContext(input.dir)) {
    const full = path.join(input.dir, entry.rel);
    const mode = entry.mode.toString(8);
    if (entry.kind === 'dir') h.update(`dir\0${entry.rel}\0${mode}\n`);
    else if (entry.kind === 'link') h.update(`link\0${entry.rel}\0${await readlink(full)}\n`);
    else h.update(`file\0${entry.rel}\0${mode}\0${await fileSha256(full)}\n`);
  }
  for (const key of Object.keys(input.buildArgs).sort()) h.update(`arg\0${key}\0${input.buildArgs[key]}\n`);
  for (const name of Object.keys(input.dependencies).sort()) h.update(`from\0${name}\0${input.dependencies[name]}\n`);
  return h.digest('hex');
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const STREAM_ABOVE = 16 * 1024 * 1024;

async function fileSha256(file: string): Promise<string> {
  const st = await lstat(file);
  if (st.size < STREAM_ABOVE) return sha256(await readFile(file));
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
