import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { errorMessage } from '../core/errors.js';
import { UnreachableError } from '../remote/connection.js';
import type { Connector } from '../remote/connector.js';
import { DEFAULT_TIMEOUTS } from '../remote/timeouts.js';
import type { HostRecord } from '../state/schema.js';

export interface ExecOutcome {
  host: string;
  exitCode: number | null;
  unreachable: boolean;
  error?: string;
  output: string;
}

/**
 * One command on many hosts at once. The words are joined with spaces and
 * run by the login shell, exactly as `ssh host words...` would, inside
 * `stoppable()` so that an interrupted pcc leaves nothing of it running.
 * `stdin` is what each host's command reads (a stream for one host, the same
 * bytes for each of several). A command still running after `timeoutMs`
 * counts as unreachable: pcc cannot tell a hung login from a hung command.
 */
export async function execOnHosts(
  hosts: readonly HostRecord[],
  words: readonly string[],
  options: {
    connect: Connector;
    concurrency: number;
    onLine?: (host: string, line: string) => void;
    stdin?: (host: HostRecord) => Readable | undefined;
    /** PCC_APPLY_TIMEOUT_S (the command is the work, as an apply is), or --timeout. */
    timeoutMs?: number;
  },
): Promise<ExecOutcome[]> {
  const command = stoppable(words.join(' '));
  const deadline = { ms: options.timeoutMs ?? DEFAULT_TIMEOUTS.applyMs, step: 'while running the command' };
  const limit = pLimit(options.concurrency);
  return Promise.all(
    hosts.map((h) =>
      limit(async (): Promise<ExecOutcome> => {
        const lines = lineSplitter((line) => options.onLine?.(h.name, line));
        try {
          const conn = await options.connect(h);
          try {
            const result = await conn.exec(command, { onOutput: lines.push, stdin: options.stdin?.(h), deadline });
            lines.flush();
            return { host: h.name, exitCode: result.code, unreachable: false, output: result.stdout + result.stderr };
          } finally {
            conn.close();
          }
        } catch (err) {
          lines.flush();
          return { host: h.name, exitCode: null, unreachable: err instanceof UnreachableError, error: errorMessage(err), output: '' };
        }
      }),
    ),
  );
}

/**
 * The command in the background of a shell that, on SIGTERM, SIGINT or SIGHUP
 * (pcc sends TERM when interrupted), signals its whole process group: sshd
 * starts each session's shell as a group leader, so every process the command
 * made goes with it, not only the shell. Its stdin stays the session's.
 */
export function stoppable(command: string): string {
  return `trap 'trap "" TERM INT HUP; kill -TERM 0 2>/dev/null; exit 130' TERM INT HUP; { ${command}
} <&0 & wait $!`;
}

function lineSplitter(emit: (line: string) => void): { push: (chunk: string) => void; flush: () => void } {
  let buffer = '';
  return {
    push(chunk) {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const p of parts) emit(p);
    },
    flush() {
      if (buffer) emit(buffer);
      buffer = '';
    },
  };
}
