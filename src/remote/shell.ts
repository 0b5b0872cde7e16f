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
 * One command as a line of sh. Stdin travels base64-encoded inside the script,
 * so content with any bytes survives, and commands without stdin read
 * /dev/null rather than the script itself (which arrives on sh's stdin).
 */
export function renderCommand(command: Command): string {
  const env = Object.entries(command.env ?? {}).map(([k, v]) => `${k}=${quote(v)} `).join('');
  const line = env + command.argv.map(quote).join(' ');
  if (command.stdin === undefined) return `${line} </dev/null`;
  return `printf '%s' ${quote(Buffer.from(command.stdin).toString('base64'))} | base64 -d | ${line}`;
}
