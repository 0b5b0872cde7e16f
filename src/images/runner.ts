import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from '../remote/shell.js';

export interface RunResult {
  code: number;
  /** stdout and stderr interleaved, the last OUTPUT_LIMIT characters of it. */
  output: string;
}

/** Exit code of a command that is not installed, locally (ENOENT) or in sh. */
export const NOT_FOUND = 127;

/**
 * Where builder commands run: here, or on a host over SSH. The build flow
 * never knows which.
 */
export interface Runner {
  /** For messages: "this machine" or the host's name. */
  readonly where: string;
  /** Whether that is a host pcc manages: its builder failing is that host failing (exit 3), not this machine's set-up (exit 1). */
  readonly onHost: boolean;
  run(command: Command, onLine?: (line: string) => void): Promise<RunResult>;
  /** Makes a folder's build context (its paths that .dockerignore lets through) available there; returns its path there. */
  stageContext(image: string, dir: string, files: readonly string[]): Promise<string>;
  /** A scratch file path there (e.g. for a digest file) and how to read it back. */
  scratchFile(name: string): Promise<string>;
  readScratch(file: string): Promise<string | undefined>;
  close(): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

/** Splits a stream of chunks into lines, keeping the tail of everything for error reports. */
export class OutputCollector {
  private text = '';
  private partial = '';

  constructor(private readonly onLine?: (line: string) => void) {}

  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-OUTPUT_LIMIT);
    if (!this.onLine) return;
    const lines = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') this.onLine(line);
  }

  finish(): string {
    if (this.onLine && this.partial.trim() !== '') this.onLine(this.partial);
    this.partial = '';
    return this.text;
  }
}

/** Runs one command on this machine, streaming its output by line. */
export function runLocal(command: Command, options: { cwd?: string; onLine?: (line: string) => void } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const collector = new OutputCollector(options.onLine);
    const [file, ...args] = command.argv;
    const child = spawn(file!, args, {
      cwd: options.cwd,
      env: { ...process.env, ...command.env },
      stdio: [command.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => collector.push(c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => collector.push(c));
    if (command.stdin !== undefined) child.stdin!.end(command.stdin);
    child.on('error', (err: NodeJS.ErrnoException) => {
      collector.push(`${file}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`);
      resolve({ code: err.code === 'ENOENT' ? NOT_FOUND : 1, output: collector.finish() });
    });
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), output: collector.finish() });
    });
  });
}

export function localRunner(): Runner {
  let scratch: string | undefined;
  return {
    where: 'this machine',
    onHost: false,
    run: (command, onLine) => runLocal(command, { onLine }),
    // The builder reads the folder where it is; .dockerignore is the builder's own business here.
    stageContext: async (_image, dir) => dir,
    async scratchFile(name) {
      scratch ??= await mkdtemp(path.join(tmpdir(), 'pcc-build-'));
      return path.join(scratch, name);
    },
    readScratch: (file) => readFile(file, 'utf8').catch(() => undefined),
    async close() {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    },
  };
}
