/**
 * A remote action as data: an argv, optionally fed `stdin`. Builders return
 * these so tests can compare exact commands; only the executor turns them
 * into shell text.
 */
export interface Command {
  argv: readonly string[];
  stdin?: string;
  /** Environment for this command only, e.g. DEBIAN_FRONTEND. */
  env?: Readonly<Record<string, string>>;
}

export function cmd(...argv: string[]): Command {
  return { argv };
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quote quoting: the result is one word to any sh. */
export function quote(word: string): string {
  if (word.length > 0 && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * One command as a line of sh. Commands without stdin read /dev/null rather
 * than the script itself (which arrives on sh's stdin). Stdin travels inside
 * the script as a quoted word, or base64-encoded when it holds a NUL byte,
 * which no shell word can.
 *
 * `sh -c SCRIPT NAME ARGS...` runs as the subshell `(set -- ARGS; SCRIPT)`:
 * the same commands without starting another sh, which on a busy host is a
 * millisecond saved per file written.
 */
export function renderCommand(command: Command): string {
  const env = Object.entries(command.env ?? {}).map(([k, v]) => `${k}=${quote(v)} `).join('');
  const line = inlineShC(command) ?? env + command.argv.map(quote).join(' ');
  if (command.stdin === undefined) return `${line} </dev/null`;
  if (!command.stdin.includes('\0')) return `printf '%s' ${quote(command.stdin)} | ${line}`;
  return `printf '%s' ${quote(Buffer.from(command.stdin).toString('base64'))} | base64 -d | ${line}`;
}

function inlineShC(command: Command): string | undefined {
  const [sh, flag, script, , ...args] = command.argv;
  if (sh !== 'sh' || flag !== '-c' || script === undefined || command.env) return undefined;
  // $0 would be the session's name, not NAME.
  if (/\$(0|\{0)/.test(script)) return undefined;
  const set = command.argv.length > 4 ? `set -- ${args.map(quote).join(' ')}; ` : '';
  return `(${set}${script}\n)`;
}
