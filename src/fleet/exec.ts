import pLimit from 'p-limit';
import { errorMessage } from '../core/errors.js';
import { UnreachableError } from '../remote/connection.js';
import type { Connector } from '../remote/connector.js';
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
 * run by the login shell, exactly as `ssh host words...` would.
 */
export async function execOnHosts(
  hosts: readonly HostRecord[],
  words: readonly string[],
  options: { connect: Connector; concurrency: number; onLine?: (host: string, line: string) => void },
): Promise<ExecOutcome[]> {
  const command = words.join(' ');
  const limit = pLimit(options.concurrency);
  return Promise.all(
    hosts.map((h) =>
      limit(async (): Promise<ExecOutcome> => {
        const lines = lineSplitter((line) => options.onLine?.(h.name, line));
        try {
          const conn = await options.connect(h);
          try {
            const result = await conn.exec(command, { onOutput: lines.push });
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
