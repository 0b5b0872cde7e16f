import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { OperationRefusedError } from '../core/errors.js';
import { CONTENT_LIMIT, fileState, pathExists, type FileState } from '../facts/files.js';
import { cmd, type Command } from '../remote/shell.js';
import type { Change, Operation, Prediction } from './operation.js';

export interface Ownership {
  /** Octal string, e.g. `0644`. */
  mode?: string;
  owner?: string;
  group?: string;
}

export interface FileOptions extends Ownership {
  /** Wanted content. Without it an existing file keeps its content. */
  content?: string;
  /**
   * Without content, a missing file is an error (as Ansible's `file` module
   * refuses a mode on a missing path), unless this asks for an empty one.
   */
  create?: boolean;
  state?: 'present' | 'absent';
}

/** Content up to this size travels as an argument; larger, or with a NUL byte, it goes through stdin and cat. */
const CONTENT_AS_ARGUMENT = 64 * 1024;

/**
 * Writes through a temp file and a rename, so a reader never sees half a
 * file. The temp file is never more open than the wanted mode: a mode without
 * execute or special bits is the umask's complement and needs no chmod; any
 * other starts at 0600 and is chmod-ed before the rename.
 *
 * Small content is the script's last argument, written by sh's own printf:
 * on a busy host every command started costs about a millisecond. It stays
 * far below the kernel's limit for one argument (128 KiB), so the command
 * also runs as a real `sh -c`.
 */
export function writeFileCommand(path: string, content: string, mode: string): Command {
  const wanted = normalizeMode(mode);
  const bits = Number.parseInt(wanted, 8);
  const plain = (bits & 0o7111) === 0;
  const umask = plain ? (0o777 & ~bits).toString(8).padStart(4, '0') : '0077';
  const args = plain ? [path] : [path, wanted];
  const chmod = plain ? '' : ' && chmod "$2" "$1.pcc-new"';
  const inline = Buffer.byteLength(content) <= CONTENT_AS_ARGUMENT && !content.includes('\0');
  const write = inline ? `printf '%s' "$${args.length + 1}"` : 'cat';
  // A temp file left by an interrupted write (or a link planted there) would keep its own mode: it goes first.
  const fresh = '{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; }';
  const script = `${fresh} && umask ${umask} && ${write} > "$1.pcc-new"${chmod} && mv -f "$1.pcc-new" "$1"`;
  return inline ? { argv: ['sh', '-c', script, 'pcc-write', ...args, content] } : { argv: ['sh', '-c', script, 'pcc-write', ...args], stdin: content };
}

export function directory(path: string, options: Ownership = {}): Operation {
  const fact = fileState(path);
  return {
    name: `directory ${path}`,
    facts: [fact],
    touches: [path],
    plan(read) {
      const st = read(fact);
      const commands: Command[] = [];
      const notes: string[] = [];
      if (st.exists && st.type !== 'directory') {
        throw new OperationRefusedError(`${path} exists and is not a directory`);
      }
      if (!st.exists) {
        commands.push(cmd('mkdir', '-p', '-m', normalizeMode(options.mode ?? '0755'), path));
        notes.push('create');
      } else if (options.mode && normalizeMode(options.mode) !== st.mode) {
        commands.push(cmd('chmod', normalizeMode(options.mode), path));
        notes.push(`mode ${st.mode} → ${normalizeMode(options.mode)}`);
      }
      commands.push(...ownershipCommands(path, st, options, notes));
      if (!commands.length) return undefined;
      const after: FileState = {
        exists: true,
        type: 'directory',
        mode: options.mode ? normalizeMode(options.mode) : (st.mode ?? '0755'),
        owner: options.owner ?? (st.exists ? st.owner : undefined),
        group: options.group ?? (st.exists ? st.group : undefined),
      };
      return { commands, summary: notes.join(', '), predicts: predictPath(path, after) };
    },
  };
}

export function file(path: string, options: FileOptions = {}): Operation {
  const fact = fileState(path, { hashLarge: options.content !== undefined });
  return {
    name: `file ${path}`,
    facts: [fact],
    touches: [path],
    plan: (read) => planFile(path, read(fact), options),
  };
}

/** Shared by file, line-in-file, block-in-file and template: compare, then write what differs. */
export function planFile(path: string, st: FileState, options: FileOptions): Change | undefined {
  if (options.state === 'absent') {
    return st.exists ? { commands: [cmd('rm', '-f', path)], summary: 'remove', predicts: predictPath(path, { exists: false }) } : undefined;
  }
  if (st.exists && st.type !== 'file') throw new OperationRefusedError(`${path} exists and is not a regular file`);
  const commands: Command[] = [];
  const notes: string[] = [];
  const wantedMode = options.mode ? normalizeMode(options.mode) : undefined;
  let diff: (() => string | undefined) | undefined;

  const mode = wantedMode ?? st.mode ?? '0644';
  if (!st.exists && options.content === undefined && !options.create) {
    throw new OperationRefusedError(`${path} does not exist, and only its mode or owner is given; give content, or create: true for an empty file`);
  }
  const content = options.content ?? (st.exists ? undefined : '');
  const rewrite = content !== undefined && !sameContent(st, content);
  if (rewrite) {
    commands.push(writeFileCommand(path, content, mode));
    notes.push(st.exists ? 'content' : 'create');
    diff = () => textDiff(path, st, content);
  } else if (wantedMode && st.mode !== wantedMode) {
    commands.push(cmd('chmod', wantedMode, path));
    notes.push(`mode ${st.mode} → ${wantedMode}`);
  }
  // A rewritten file is a new inode owned by the writer, so ownership is set again.
  commands.push(...ownershipCommands(path, rewrite ? { exists: false } : st, options, notes));
  if (!commands.length) return undefined;
  const after: FileState = {
    ...(rewrite ? writtenFile(content) : st),
    type: 'file',
    mode,
    owner: options.owner ?? (rewrite ? undefined : st.owner),
    group: options.group ?? (rewrite ? undefined : st.group),
  };
  return { commands, summary: notes.join(', '), diff, predicts: predictPath(path, after) };
}

/** A file's state as the file fact reads it, right after pcc wrote this content (its owner is whoever wrote it). */
function writtenFile(content: string): FileState {
  const bytes = Buffer.from(content);
  const size = bytes.length;
  return size <= CONTENT_LIMIT ? { exists: true, size, content: bytes } : { exists: true, size, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function predictPath(path: string, after: FileState): Prediction[] {
  return [
    { fact: fileState(path), value: after },
    { fact: fileState(path, { hashLarge: true }), value: after },
    { fact: pathExists(path), value: after.exists },
  ];
}

function ownershipCommands(path: string, st: FileState, options: Ownership, notes: string[]): Command[] {
  const owner = options.owner && (!st.exists || st.owner !== options.owner) ? options.owner : undefined;
  const group = options.group && (!st.exists || st.group !== options.group) ? options.group : undefined;
  if (!owner && !group) return [];
  notes.push(`owner ${owner ?? ''}${group ? `:${group}` : ''}`);
  return [cmd('chown', `${owner ?? ''}${group ? `:${group}` : ''}`, path)];
}

function sameContent(st: FileState, content: string): boolean {
  if (!st.exists) return false;
  if (st.content) return st.content.equals(Buffer.from(content));
  if (st.sha256) return st.sha256 === createHash('sha256').update(content).digest('hex');
  return false;
}

/** Only --dry shows diffs, so the diff library loads only then. */
function textDiff(path: string, st: FileState, content: string): string | undefined {
  if (st.exists && !st.content) return undefined;
  const before = st.content?.toString('utf8') ?? '';
  const { createTwoFilesPatch } = createRequire(import.meta.url)('diff') as typeof import('diff');
  return createTwoFilesPatch(st.exists ? path : '/dev/null', path, before, content, '', '', { context: 3 });
}

export function normalizeMode(mode: string): string {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new OperationRefusedError(`mode '${mode}' is not octal like 0644`);
  return mode.padStart(4, '0');
}

export function currentText(st: FileState, path: string): string {
  if (!st.exists) return '';
  if (!st.content) throw new OperationRefusedError(`${path} is too large to edit line by line`);
  return st.content.toString('utf8');
}
