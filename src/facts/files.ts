import { quote } from '../remote/shell.js';
import { defineFact, type Fact } from './fact.js';

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

export function fileState(path: string): Fact<FileState> {
  const p = quote(path);
  return defineFact({
    key: `file:${path}`,
    reads: [path],
    script:
      `if [ -e ${p} ] || [ -L ${p} ]; then stat -c '%F|%a|%U|%G|%s' -- ${p}; ` +
      `if [ -f ${p} ] && [ ! -L ${p} ]; then if [ "$(stat -c %s -- ${p})" -le ${CONTENT_LIMIT} ]; then printf 'b64:'; base64 -w0 -- ${p}; echo; ` +
      `else printf 'sha:'; sha256sum -- ${p} | cut -d' ' -f1; fi; fi; else echo absent; fi`,
    parse: parseFileState,
  });
}

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
