import { readFileSync } from 'node:fs';
import dotenv from 'dotenv';
import { PccError } from '../core/errors.js';

/** One `KEY=value` of a dotenv file, with the line it is on for error messages. */
export interface DotenvEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
  /** The last line its value reaches (a quoted value may span lines). */
  readonly lastLine: number;
}

/**
 * dotenv's own line pattern (dotenv 17, lib/main.js). dotenv skips whatever
 * it does not match without a word; pcc finds those lines with the same
 * pattern, so a line it cannot parse is refused instead of silently ignored.
 */
const LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

/** Reads a dotenv file strictly; `rel` is how errors name it. A missing file is undefined. */
export function readDotenvFile(file: string, rel: string): DotenvEntry[] | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PccError(`${rel}: cannot read (${(err as Error).message}); fix the file's permissions or remove it`);
  }
  return parseDotenvStrict(bytes, rel);
}

/**
 * Every line is blank, a `#` comment or (part of) a `KEY=value` that dotenv
 * reads; anything else is an error naming the file and line. The error never
 * quotes the line: it may hold a secret.
 */
export function parseDotenvStrict(bytes: Buffer, rel: string): DotenvEntry[] {
  let text: string;
  try {
    if (bytes.includes(0)) throw new Error('NUL byte');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PccError(`${rel}: is not a text file; it must hold KEY=value lines (dotenv), one a line`);
  }
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const covered = new Set<number>();
  const found: { key: string; line: number; lastLine: number }[] = [];
  for (const m of text.matchAll(LINE)) {
    const keyInMatch = m[0].indexOf(m[1]!);
    const keyAt = m.index + keyInMatch;
    const valueEnd = m[2] ? m.index + m[0].indexOf(m[2], keyInMatch + m[1]!.length) + m[2].length - 1 : keyAt;
    const first = lineOf(keyAt);
    const last = lineOf(m.index + Math.max(m[0].length - 1, 0));
    for (let l = first; l <= last; l++) covered.add(l);
    found.push({ key: m[1]!, line: first + 1, lastLine: lineOf(valueEnd) + 1 });
  }
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    const bare = l.trim();
    if (bare === '' || bare.startsWith('#') || covered.has(i)) return;
    throw new PccError(`${rel}:${i + 1}: not a KEY=value line; write KEY=value (quote a value that holds spaces or #), or start the line with #`);
  });

  const values = dotenv.parse(text);
  const seen = new Map<string, number>();
  const entries: DotenvEntry[] = [];
  for (const { key, line, lastLine } of found) {
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new PccError(`${rel}:${line}: ${key} is already set on line ${earlier}; keep one of them`);
    seen.set(key, line);
    entries.push({ key, value: values[key] ?? '', line, lastLine });
  }
  return entries;
}
