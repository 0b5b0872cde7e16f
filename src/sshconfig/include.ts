import path from 'node:path';

/*
 * The one line pcc adds to the user's ~/.ssh/config, as pure functions on
 * bytes: the user's file stays a Buffer (it is decoded only to be looked at,
 * never to be written back), so that whatever it holds, CRLF, no final
 * newline, non-UTF-8 comments, comes back byte for byte.
 *
 * Why the line goes at the very top: ssh keeps the first value it obtains for
 * each option, in file order. Below a user's `Host *` block, pcc's entries
 * would lose every option that block sets (say `StrictHostKeyChecking no`
 * or `User`); inside a Host or Match block the Include itself would be
 * conditional. Above everything, pcc's entries win for the options they set,
 * and only for pcc's own aliases. ssh restores the Host/Match state after an
 * Include, so the user's top-level options below the line stay global.
 *
 * Why the path is absolute: ssh resolves a relative Include against ~/.ssh,
 * never against the folder of the file that holds it (`-F` included), and
 * what `~` means differs between ssh builds. Upstream OpenSSH expands it with
 * the passwd entry's home; the Debian 12 ssh here (9.2p1) was seen to use
 * $HOME (strace: `HOME=/tmp/h ssh -G -F elsewhere/config` opened
 * /tmp/h/.ssh/<relative include>, and /root/.ssh/... with HOME unset). An
 * absolute path means the same file for every ssh, under sudo, and for a test
 * that points HOME elsewhere.
 */

/** One parsed directive, as ssh reads it: a case-insensitive keyword and its arguments. */
export interface ConfigLine {
  /** 1-based, for messages. */
  lineNo: number;
  keyword: string;
  args: string[];
}

/**
 * Lines of ssh config, tokenized the way OpenSSH 8.7+ does it (argv_split):
 * `Keyword args`, `Keyword=args` or `Keyword = args`; double or single
 * quotes; a backslash escapes a quote, a backslash or (unquoted) a space; an
 * unquoted `#` at the start of a word ends the line.
 */
export function configLines(text: string): ConfigLine[] {
  const out: ConfigLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const m = /^[ \t]*([^\s=#]+)(?:[ \t]*=[ \t]*|[ \t]+|$)(.*)$/.exec(raw);
    if (!m) return;
    out.push({ lineNo: i + 1, keyword: m[1]!.toLowerCase(), args: splitArgs(m[2]!) });
  });
  return out;
}

export function splitArgs(s: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length || s[i] === '#') break;
    let arg = '';
    let quote: string | undefined;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === "'" || s[i + 1] === '\\' || (!quote && s[i + 1] === ' '))) {
        arg += s[++i];
      } else if (quote) {
        if (c === quote) quote = undefined;
        else arg += c;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (/\s/.test(c)) {
        break;
      } else {
        arg += c;
      }
    }
    args.push(arg);
  }
  return args;
}

/** A value as ssh config needs it: quoted, with `\` and `"` escaped, when it holds anything special. */
export function quoteArg(value: string): string {
  if (value.length > 0 && !/[\s"'#\\=]/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

export function includeDirective(pattern: string): string {
  return `Include ${quoteArg(pattern)}`;
}

/** Where ssh looks for an Include argument of a user config: `~` is the home, relative is ~/.ssh. */
export function resolveIncludeArg(arg: string, home: string, sshDir: string): string {
  if (arg === '~') return home;
  if (arg.startsWith('~/')) return path.join(home, arg.slice(2));
  return path.isAbsolute(arg) ? path.normalize(arg) : path.join(sshDir, arg);
}

export interface IncludeFound {
  lineNo: number;
  /** Before any Host or Match line: in force for every host, and read before the user's own blocks. */
  atTop: boolean;
}

/** The first Include line whose arguments name `pattern`, wherever it is. */
export function findInclude(
  text: string,
  pattern: string,
  where: { home: string; sshDir: string },
): IncludeFound | undefined {
  let sectionSeen = false;
  for (const line of configLines(text)) {
    if (line.keyword === 'host' || line.keyword === 'match') sectionSeen = true;
    if (line.keyword !== 'include') continue;
    if (line.args.some((a) => resolveIncludeArg(a, where.home, where.sshDir) === pattern)) {
      return { lineNo: line.lineNo, atTop: !sectionSeen };
    }
  }
  return undefined;
}

/** The file's own line ending, judged by its first line; LF when it has none. */
export function eolOf(content: Buffer): '\n' | '\r\n' {
  const nl = content.indexOf(0x0a);
  return nl > 0 && content[nl - 1] === 0x0d ? '\r\n' : '\n';
}

/** The user's config with the directive as a new first line; every original byte follows unchanged. */
export function prependLine(original: Buffer, directive: string): Buffer {
  return Buffer.concat([Buffer.from(directive + eolOf(original), 'utf8'), original]);
}

/** The exact inverse of prependLine, or undefined when the first line is not the directive any more. */
export function removeFirstLine(current: Buffer, directive: string): Buffer | undefined {
  for (const eol of ['\n', '\r\n']) {
    const head = Buffer.from(directive + eol, 'utf8');
    if (current.length >= head.length && current.subarray(0, head.length).equals(head)) {
      return current.subarray(head.length);
    }
  }
  return undefined;
}
