import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { fileState } from '../facts/files.js';
import { UserInputError } from '../core/errors.js';
import { currentText, planFile, type Ownership } from './files.js';
import type { Operation } from './operation.js';

export interface LineOptions extends Ownership {
  line: string;
  /** The line to replace: the last line that matches wins, as in Ansible. Without a match the line is appended. */
  match?: RegExp;
  /** Without a match the line goes first, not last: a top-level TOML key must come before the first [section]. */
  atStart?: boolean;
}

export function lineInFile(path: string, options: LineOptions): Operation {
  const fact = fileState(path);
  return {
    name: `line ${path}: ${options.line}`,
    facts: [fact],
    touches: [path],
    plan(read) {
      const st = read(fact);
      return planFile(path, st, { ...options, content: withLine(currentText(st, path), options) });
    },
  };
}

export function withLine(text: string, options: { line: string; match?: RegExp; atStart?: boolean }): string {
  const lines = splitLines(text);
  const matcher = options.match ?? { test: (l: string) => l === options.line };
  let index = -1;
  lines.forEach((l, i) => {
    if (matcher.test(l)) index = i;
  });
  if (index >= 0) lines[index] = options.line;
  else if (options.atStart) lines.unshift(options.line);
  else lines.push(options.line);
  return joinLines(lines);
}

export interface BlockOptions extends Ownership {
  /** The block's lines; an empty block removes the block and its markers, as in Ansible. */
  block: string;
  /**
   * With `{mark}`: Ansible's marker template, e.g. `# {mark} ANSIBLE MANAGED BLOCK`,
   * whose lines are it with `{mark}` replaced by BEGIN and END. Without:
   * a name that tells several pcc blocks in one file apart
   * (`# BEGIN PCC MANAGED BLOCK <marker>`).
   */
  marker?: string;
  /** The whole begin and end lines, for markers no template describes; both or neither. */
  markerBegin?: string;
  markerEnd?: string;
  /** Comment leader for pcc's own marker lines (not for a `{mark}` template, which has its own). */
  comment?: string;
}

export function blockInFile(path: string, options: BlockOptions): Operation {
  const fact = fileState(path);
  const { begin } = blockMarkers(options);
  return {
    name: `block ${path}${options.marker || options.markerBegin ? ` (${options.marker ?? begin})` : ""}`,
    facts: [fact],
    touches: [path],
    plan(read) {
      const st = read(fact);
      return planFile(path, st, { ...options, content: withBlock(currentText(st, path), options) });
    },
  };
}

export function blockMarkers(options: Pick<BlockOptions, 'marker' | 'markerBegin' | 'markerEnd' | 'comment'>): { begin: string; end: string } {
  if ((options.markerBegin === undefined) !== (options.markerEnd === undefined)) {
    throw new UserInputError('blockInFile: give markerBegin and markerEnd together, or use marker');
  }
  if (options.markerBegin !== undefined && options.markerEnd !== undefined) {
    if (options.marker !== undefined) throw new UserInputError('blockInFile: give markerBegin/markerEnd or marker, not both');
    const lines = { begin: options.markerBegin, end: options.markerEnd };
    if (/\n/.test(lines.begin + lines.end) || lines.begin === '' || lines.begin === lines.end) {
      throw new UserInputError('blockInFile: markerBegin and markerEnd are two different single lines');
    }
    return lines;
  }
  if (options.marker?.includes('{mark}')) {
    return { begin: options.marker.replaceAll('{mark}', 'BEGIN'), end: options.marker.replaceAll('{mark}', 'END') };
  }
  const label = `PCC MANAGED BLOCK${options.marker ? ` ${options.marker}` : ''}`;
  const lead = options.comment ?? '#';
  return { begin: `${lead} BEGIN ${label}`, end: `${lead} END ${label}` };
}

/**
 * Ansible's blockinfile, byte for byte, so that pcc takes over a block
 * Ansible wrote (same markers) without a second copy: the last begin line and
 * the last end line are the block (each a whole line, newline included); the
 * new block goes where the old one was, or at the end of the file, after a
 * newline added to a last line without one.
 */
export function withBlock(text: string, options: Pick<BlockOptions, 'block' | 'marker' | 'markerBegin' | 'markerEnd' | 'comment'>): string {
  const { begin, end } = blockMarkers(options);
  const marker0 = `${begin}\n`;
  const marker1 = `${end}\n`;
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const block = options.block === '' || options.block.endsWith('\n') ? options.block : `${options.block}\n`;
  const blockLines = block === '' ? [] : [marker0, ...(block.match(/[^\n]*\n/g) ?? []), marker1];
  let n0 = -1;
  let n1 = -1;
  lines.forEach((l, i) => {
    if (l === marker0) n0 = i;
    if (l === marker1) n1 = i;
  });
  if (n0 < 0 || n1 < 0) n0 = lines.length;
  else if (n0 < n1) lines.splice(n0, n1 - n0 + 1);
  else {
    lines.splice(n1, n0 - n1 + 1);
    n0 = n1;
  }
  if (n0 > 0 && !lines[n0 - 1]!.endsWith('\n')) lines[n0 - 1] += '\n';
  lines.splice(n0, 0, ...blockLines);
  return lines.join('');
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  return text.replace(/\n$/, '').split('\n');
}

function joinLines(lines: string[]): string {
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export interface TemplateOptions extends Ownership {
  /** Handlebars source. */
  source: string;
  vars: Record<string, unknown>;
  /** Where the source came from, for error messages. */
  origin?: string;
}

/** Renders locally (strict: a missing variable is an error, not an empty string), then manages the file. */
export function template(path: string, options: TemplateOptions): Operation {
  const content = renderTemplate(options.source, options.vars, options.origin ?? `template for ${path}`);
  const fact = fileState(path, { hashLarge: true });
  return {
    name: `template ${path}`,
    facts: [fact],
    touches: [path],
    plan: (read) => planFile(path, read(fact), { ...options, content }),
  };
}

export function templateFile(path: string, sourceFile: string, vars: Record<string, unknown>, ownership: Ownership = {}): Operation {
  let source: string;
  try {
    source = readFileSync(sourceFile, 'utf8');
  } catch {
    throw new UserInputError(`template ${sourceFile} cannot be read; check the path`);
  }
  return template(path, { ...ownership, source, vars, origin: sourceFile });
}

/** Every host of a run renders the same sources: compile each once. */
const compiled = new Map<string, HandlebarsTemplateDelegate>();

export function renderTemplate(source: string, vars: Record<string, unknown>, origin: string): string {
  try {
    let render = compiled.get(source);
    if (!render) {
      render = Handlebars.compile(source, { strict: true, noEscape: true });
      compiled.set(source, render);
    }
    return render(vars);
  } catch (err) {
    throw new UserInputError(templateError(err, source, origin));
  }
}

/**
 * Handlebars says `"c" not defined in [object Object] - 1:4`; pcc names the
 * template, the line and the whole variable (`a.b.c`) instead.
 */
export function templateError(err: unknown, source: string, origin: string): string {
  const e = err as Error & { lineNumber?: number; column?: number };
  const message = e.message ?? String(err);
  const missing = /^"([^"]*)" not defined in .* - (\d+):(\d+)$/.exec(message);
  if (missing) {
    const line = Number(missing[2]);
    const text = source.split('\n')[line - 1] ?? '';
    const variable = /^[\w.@/[\]-]+/.exec(text.slice(Number(missing[3])))?.[0] ?? missing[1]!;
    const part = variable === missing[1] || variable.endsWith(`.${missing[1]}`) ? '' : ` ('${missing[1]}' is missing)`;
    return `${origin}:${line}: variable '${variable}'${part} is not defined; pass it in vars or fix the template`;
  }
  const parse = /^Parse error on line (\d+):\n[\s\S]*\n(Expecting .*|.*)$/.exec(message);
  if (parse) return `${origin}:${parse[1]}: cannot parse the template: ${parse[2]!.replace(/, got/, ' but got')}`;
  const at = / - (\d+):(\d+)$/.exec(message);
  const line = e.lineNumber ?? (at ? Number(at[1]) : undefined);
  const first = message.split('\n')[0]!.replace(/ - \d+:\d+$/, '');
  return `${origin}${line ? `:${line}` : ''}: ${first}; fix the template`;
}
