import { UserInputError } from '../core/errors.js';

/** A FROM line that names an image of the pcc registry through `${REGISTRY_HOST}`. */
export interface RegistryFrom {
  image: string;
  /** 1-based line of the FROM instruction. */
  line: number;
}

export interface DockerfileInfo {
  registryFroms: RegistryFrom[];
  /** Every ARG name the Dockerfile declares, in any stage. */
  args: Set<string>;
}

export const REGISTRY_ARG = 'REGISTRY_HOST';

interface Instruction {
  keyword: string;
  rest: string;
  line: number;
}

const REGISTRY_REF = /^\$(?:\{REGISTRY_HOST\}|REGISTRY_HOST(?![A-Za-z0-9_]))\/(.*)$/;

/**
 * Reads what pcc needs from a Dockerfile: which pcc images it builds FROM and
 * which ARGs it declares. `where` is the project-relative path for errors.
 */
export function parseDockerfile(text: string, where: string): DockerfileInfo {
  const instructions = logicalLines(text);
  const args = new Set<string>();
  const registryFroms: RegistryFrom[] = [];
  let seenFrom = false;
  let registryArgBeforeFrom = false;

  for (const ins of instructions) {
    if (ins.keyword === 'ARG') {
      for (const name of argNames(ins.rest)) {
        args.add(name);
        if (!seenFrom && name === REGISTRY_ARG) registryArgBeforeFrom = true;
      }
      continue;
    }
    if (ins.keyword !== 'FROM') continue;
    seenFrom = true;
    const image = fromImage(ins.rest);
    if (image === undefined) throw new UserInputError(`${where}:${ins.line}: FROM names no image; write FROM <image> [AS <name>]`);
    const match = REGISTRY_REF.exec(image);
    if (!match) continue;
    if (!registryArgBeforeFrom) {
      throw new UserInputError(
        `${where}:${ins.line}: FROM uses \${${REGISTRY_ARG}} but no "ARG ${REGISTRY_ARG}" comes before the first FROM; add that line at the top`,
      );
    }
    const name = stripTagAndDigest(match[1]!);
    if (name.includes('$')) {
      throw new UserInputError(`${where}:${ins.line}: FROM ${image}: write the pcc image's name literally so that pcc can order the build`);
    }
    registryFroms.push({ image: name, line: ins.line });
  }
  return { registryFroms, args };
}

/** The image of `FROM [--flag=...] image [AS name]`. */
function fromImage(rest: string): string | undefined {
  const words = rest.split(/\s+/).filter(Boolean);
  return words.find((w) => !w.startsWith('--'));
}

function argNames(rest: string): string[] {
  // ARG NAME[=default] [NAME2[=default] ...]; defaults with spaces are quoted and never look like names.
  return rest
    .split(/\s+/)
    .map((w) => /^([A-Za-z_][A-Za-z0-9_]*)(=|$)/.exec(w)?.[1])
    .filter((n): n is string => n !== undefined);
}

function stripTagAndDigest(ref: string): string {
  const noDigest = ref.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? noDigest : noDigest.slice(0, colon);
}

/**
 * Joins continuation lines and drops comments the way Docker's parser does,
 * keeping each instruction's first line number for error messages.
 */
function logicalLines(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const escape = escapeDirective(lines);
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (buffer !== '' && trimmed === '')) continue;
    if (buffer === '') start = i + 1;
    const body = raw.replace(/\s+$/, '');
    if (body.endsWith(escape)) {
      buffer += `${body.slice(0, -escape.length)} `;
      continue;
    }
    buffer += body;
    push(buffer, start);
    buffer = '';
  }
  if (buffer.trim() !== '') push(buffer, start);
  return out;

  function push(line: string, lineNo: number): void {
    const m = /^\s*(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ keyword: m[1]!.toUpperCase(), rest: m[2]!.trim(), line: lineNo });
  }
}

/** `# escape=`` ` among the leading parser directives switches the escape character. */
function escapeDirective(lines: string[]): string {
  for (const line of lines) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(line);
    if (!m) break;
    if (m[1]!.toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) return m[2];
  }
  return '\\';
}
