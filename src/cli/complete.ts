import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Commands whose positional is a host pattern, and where the pattern sits among the words. */
const patternAt: Record<string, number> = { setup: 1, exec: 1, run: 2, autostop: 1 };

/**
 * Shell completion beyond yargs' own (commands, flags, choices): host names
 * and groups from the project's state where a pattern goes, also after `:`,
 * `:&`, `:!` and `:-`. Reads .pcc/state.json directly, without a lock: completion
 * must answer at once and never write.
 */
export function completeWord(
  current: string,
  argv: { _: (string | number)[]; project?: string },
  defaults: (onCompleted?: (err: unknown, completions: string[]) => void) => void,
  done: (completions: string[]) => void,
): void {
  const words = argv._.map(String).filter((w) => w !== 'pcc');
  const slot = patternAt[words[0] ?? ''];
  // yargs counts the word being completed among the positionals.
  const position = current === '' ? words.length : words.length - 1;
  if (slot === undefined || position !== slot || current.startsWith('-')) {
    defaults();
    return;
  }
  const cut = Math.max(current.lastIndexOf(':'), current.lastIndexOf(','));
  let head = current.slice(0, cut + 1);
  let tail = current.slice(cut + 1);
  if (tail.startsWith('&') || tail.startsWith('!') || tail.startsWith('-')) {
    head += tail[0];
    tail = tail.slice(1);
  }
  done(patternWords(argv.project).filter((w) => w.startsWith(tail)).map((w) => head + w));
}

export function patternWords(project: string | undefined): string[] {
  const file = path.resolve(project ?? '.', '.pcc', 'state.json');
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as { hosts?: Record<string, { name: string; groups?: string[] }> };
    const hosts = Object.values(state.hosts ?? {});
    const names = new Set<string>(['all']);
    for (const h of hosts) names.add(h.name);
    for (const h of hosts) for (const g of h.groups ?? []) names.add(g);
    return [...names].sort();
  } catch {
    return ['all'];
  }
}
