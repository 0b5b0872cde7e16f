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

export function withLine(text: string, options: { line: string; match?: RegExp }): string {
  const lines = splitLines(text);
  const matcher = options.match ?? { test: (l: string) => l === options.line };
  let index = -1;
  lines.forEach((l, i) => {
    if (matcher.test(l)) index = i;
  });
  if (index >= 0) lines[index] = options.line;
  else lines.push(options.line);
  return joinLines(lines);
}

export interface BlockOptions extends Ownership {
  block: string;
  /** Distinguishes several managed blocks in one file. */
  marker?: string;
  /** Comment leader for the marker lines. */
  comment?: string;
}

export function blockInFile(path: string, options: BlockOptions): Operation {
  const fact = fileState(path);
  return {
    name: `block ${path}${options.marker ? ` (${options.marker})` : ''}`,
    facts: [fact],
    touches: [path],
    plan(read) {
      const st = read(fact);
      return planFile(path, st, { ...options, content: withBlock(currentText(st, path), options) });
    },
  };
}

export function withBlock(text: string, options: { block: string; marker?: string; comment?: string }): string {
  const label = `PCC MANAGED BLOCK${options.marker ? ` ${options.marker}` : ''}`;
  const lead = options.comment ?? '#';
  const begin = `${lead} BEGIN ${label}`;
  const end = `${lead} END ${label}`;
  const body = splitLines(options.block);
  const lines = splitLines(text);
  const b = lines.indexOf(begin);
  const e = b >= 0 ? lines.indexOf(end, b) : -1;
  if (b >= 0 && e >= 0) lines.splice(b, e - b + 1, begin, ...body, end);
  else lines.push(begin, ...body, end);
  return joinLines(lines);
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
    const first = (err as Error).message.split('\n')[0];
    throw new UserInputError(`${origin}: ${first}; fix the template or pass the variable`);
  }
}
