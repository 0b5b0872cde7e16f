import { quote } from '../remote/shell.js';
import { defineFact, type Fact, type FactGroup } from './fact.js';

/** Files larger than this are compared by sha256 instead of content, and get no diff. */
export const CONTENT_LIMIT = 256 * 1024;

export interface FileState {
  exists: boolean;
  type?: 'file' | 'directory' | 'symlink' | 'other';
  /** Octal, four digits, e.g. `0644`. */
  mode?: string;
  owner?: string;
  group?: string;
  size?: number;
  /** The content, when the file is regular and no larger than CONTENT_LIMIT. */
  content?: Buffer;
  sha256?: string;
}

const STAT_FORMAT = '%F|%a|%U|%G|%s';

/**
 * A file's type, mode, owner, size, and its content when it is small. A
 * large file is hashed only for `hashLarge`: what a write of whole content
 * compares against. A playbook asking whether a 10 GB dataset exists should
 * not read it.
 */
export function fileState(path: string, options: { hashLarge?: boolean } = {}): Fact<FileState> {
  const p = quote(path);
  const hash = options.hashLarge ?? false;
  return defineFact({
    key: `${hash ? 'file+sha256' : 'file'}:${path}`,
    reads: [path],
    // Names with a newline or backslash would not survive stat's and sha256sum's line output, nor a trailing | sh's read.
    group: /[\n\\]|\|$/.test(path) ? undefined : { of: FILE_STATES, arg: `${hash ? 'h' : 'p'}:${path}` },
    script:
      `if [ -e ${p} ] || [ -L ${p} ]; then stat -c '${STAT_FORMAT}' -- ${p}; ` +
      `if [ -f ${p} ] && [ ! -L ${p} ]; then if [ "$(stat -c %s -- ${p})" -le ${CONTENT_LIMIT} ]; then printf 'b64:'; base64 -w0 -- ${p}; echo; ` +
      (hash ? `else printf 'sha:'; sha256sum -- ${p} | cut -d' ' -f1; ` : '') +
      `fi; fi; else echo absent; fi`,
    parse: parseFileState,
  });
}

/**
 * Every file fact of a round trip in a few commands: one `stat` for all the
 * paths, one `sha256sum` for the large files that are to be compared, and
 * one `cat | base64` for the small ones, split back by the sizes stat gave.
 * An argument is `h:PATH` (hash it when large) or `p:PATH`.
 */
export const FILE_STATES: FactGroup<FileState> = {
  id: 'file-state',
  script(args) {
    const paths = [...new Set(args.map((a) => a.slice(2)))];
    const hashed = [...new Set(args.filter((a) => a.startsWith('h:')).map((a) => a.slice(2)))];
    const regular = (test: string, only?: string[]) => {
      const add = only ? `case $n in ${only.map(quote).join('|')}) set -- "$@" "$n";; esac` : 'set -- "$@" "$n"';
      return `set --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ "$z" ${test} ${CONTENT_LIMIT} ]; then ${add}; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n`;
    };
    return [
      `s=$(stat -c '${STAT_FORMAT}|%n' -- ${paths.map(quote).join(' ')})`,
      `printf '%s\n=\n' "$s"`,
      (hashed.length ? regular('-gt', hashed) + `[ $# -eq 0 ] || sha256sum -- "$@"; ` : '') + `printf '\\n=\\n'`,
      regular('-le') + `[ $# -eq 0 ] || cat -- "$@" | base64 -w0`,
    ].join('\n');
  },
  parse(out, args) {
    const [statText = '', shaText = '', b64 = ''] = out.split('\n=\n');
    const found = new Map<string, FileState>();
    const small: { state: FileState; size: number }[] = [];
    for (const line of statText.split('\n')) {
      const parts = line.split('|');
      if (parts.length < 6) continue;
      const name = parts.slice(5).join('|');
      const state = parseFileState(parts.slice(0, 5).join('|'));
      found.set(name, state);
      if (state.type === 'file' && (state.size ?? 0) <= CONTENT_LIMIT) small.push({ state, size: state.size ?? 0 });
    }
    for (const line of shaText.split('\n')) {
      const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
      const state = m ? found.get(m[2]!) : undefined;
      if (state) state.sha256 = m![1];
    }
    const content = Buffer.from(b64.trim(), 'base64');
    const expected = small.reduce((n, f) => n + f.size, 0);
    // A file that grew (a log) or could not be read between stat and cat: the
    // split is unsure, so no small file of this round trip gets content; what
    // stat said stands.
    if (content.length === expected) {
      let offset = 0;
      for (const f of small) {
        f.state.content = content.subarray(offset, offset + f.size);
        offset += f.size;
      }
    }
    return args.map((arg) => {
      const state = found.get(arg.slice(2)) ?? { exists: false };
      if (arg.startsWith('h:') || !state.sha256) return state;
      const { sha256: _unasked, ...plain } = state;
      return plain;
    });
  },
};

export function parseFileState(out: string): FileState {
  const [head = '', body = ''] = out.split('\n');
  if (head.trim() === 'absent' || head.trim() === '') return { exists: false };
  const [kind = '', mode = '', owner, group, size] = head.split('|');
  const type = kind.startsWith('regular')
    ? 'file'
    : kind === 'directory'
      ? 'directory'
      : kind === 'symbolic link'
        ? 'symlink'
        : 'other';
  const state: FileState = {
    exists: true,
    type,
    mode: mode.padStart(4, '0'),
    owner,
    group,
    size: Number(size),
  };
  if (body.startsWith('b64:')) state.content = Buffer.from(body.slice(4).trim(), 'base64');
  else if (body.startsWith('sha:')) state.sha256 = body.slice(4).trim();
  return state;
}

export function pathExists(path: string): Fact<boolean> {
  return defineFact({
    key: `exists:${path}`,
    reads: [path],
    script: `[ -e ${quote(path)} ] && echo yes || echo no`,
    parse: (out) => out.trim() === 'yes',
  });
}

/** Exit status of a check command, for `unless` / `onlyIf` guards. */
export function commandSucceeds(script: string, reads?: readonly string[]): Fact<boolean> {
  return defineFact({
    key: `succeeds:${script}`,
    reads,
    script: `( ${script}\n) >/dev/null 2>&1 && echo yes || echo no`,
    parse: (out) => out.trim() === 'yes',
  });
}

/** The trimmed stdout of a command, for playbooks that need a value. */
export function commandOutput(script: string, reads?: readonly string[]): Fact<{ code: number; stdout: string }> {
  return defineFact({
    key: `output:${script}`,
    reads,
    script,
    parse: (out, code) => ({ code, stdout: out.replace(/\n$/, '') }),
  });
}
