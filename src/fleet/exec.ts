import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { errorMessage, UnreachableError } from '../core/errors.js';
import { onInterrupt } from '../core/interrupt.js';
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
 * bytes for each of several). A host whose session does not answer within
 * `roundTripMs`, before the command is sent, is unreachable; so is one whose
 * command still runs after `timeoutMs`: pcc cannot tell a session that hangs
 * later from a hung command.
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
    /** PCC_TIMEOUT_S, or --timeout: the short round trip that opens each host's session. */
    roundTripMs?: number;
  },
): Promise<ExecOutcome[]> {
  const deadline = { ms: options.timeoutMs ?? DEFAULT_TIMEOUTS.applyMs, step: 'while running the command' };
  const opening = { ms: options.roundTripMs ?? DEFAULT_TIMEOUTS.roundTripMs, step: 'while opening the session' };
  const limit = pLimit(options.concurrency);
  return Promise.all(
    hosts.map((h) =>
      limit(async (): Promise<ExecOutcome> => {
        const lines = lineSplitter((line) => options.onLine?.(h.name, line));
        // Where the command notes its process group, for the stop that comes over a session of its own;
        // one name per host, as two hosts may share a /tmp (two sshd on one machine).
        const groupFile = `/tmp/.pcc-exec-${randomBytes(6).toString('hex')}`;
        const command = stoppable(words.join(' '), groupFile);
        let began: number | undefined;
        try {
          const conn = await options.connect(h);
          // A host whose every session hangs after the handshake (a ForceCommand, a login script that
          // sleeps) would hold the command for the whole apply limit and could even end it "done" with the
          // command never run. So each host first answers a short round trip, the autostop lease's touch
          // that every session runs (fleet/connect.ts), within PCC_TIMEOUT_S; the command goes only then.
          try {
            await conn.exec(':', { deadline: opening });
          } catch (err) {
            conn.close();
            throw err;
          }
          began = Date.now();
          // sshd refuses "signal" requests on some sessions (a root login on OpenSSH 9.2), so an
          // interrupted pcc also stops the command's group with a kill of its own.
          let stopping: Promise<void> | undefined;
          const forget = onInterrupt(
            () =>
              (stopping = conn.exec(stopGroup(groupFile), { deadline: { ms: 2_000, step: 'while stopping the command' } }).then(
                () => undefined,
                () => undefined,
              )),
          );
          try {
            const result = await conn.exec(command, { onOutput: lines.push, stdin: options.stdin?.(h), deadline });
            lines.flush();
            return { host: h.name, exitCode: result.code, unreachable: false, output: result.stdout + result.stderr };
          } finally {
            forget();
            // The command's end (its channel closed by the interrupt) must not cut the stop short.
            await stopping;
            conn.close();
          }
        } catch (err) {
          lines.flush();
          if (began !== undefined && Date.now() - began >= deadline.ms) await stopLeftBehind(options.connect, h, groupFile);
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
 * made goes with it, not only the shell. The shell writes its pid (the
 * group's id) to `groupFile`, so `stopGroup` can reach it from another
 * session, and removes it when the command ends. Its stdin stays the session's.
 */
export function stoppable(command: string, groupFile: string): string {
  return `trap 'trap "" TERM INT HUP; kill -TERM 0 2>/dev/null; exit 130' TERM INT HUP; echo $$ > ${groupFile}; { ${command}
} <&0 & wait $!; s=$?; rm -f ${groupFile}; exit $s`;
}

/**
 * A command past its deadline still runs: pcc dropped its connection, and a
 * dropped session hangs up nothing that has no terminal. So pcc stops its group
 * over a new connection, giving that a few seconds at most (a host whose login
 * hangs would hang this too) before it reports the host.
 */
async function stopLeftBehind(connect: Connector, host: HostRecord, groupFile: string): Promise<void> {
  const stop = connect(host).then(async (conn) => {
    try {
      await conn.exec(stopGroup(groupFile), { deadline: { ms: 3_000, step: 'while stopping the command' } });
    } finally {
      conn.close();
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const enough = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000).unref()));
  await Promise.race([stop.catch(() => undefined), enough]);
  clearTimeout(timer);
}

/** TERM to the process group that `stoppable` noted, from a session of its own. */
export function stopGroup(groupFile: string): string {
  return `[ -f ${groupFile} ] && kill -TERM -- -"$(cat ${groupFile})" 2>/dev/null; rm -f ${groupFile}`;
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
