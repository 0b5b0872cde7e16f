import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import { findMarker } from './markers.js';
import type { ExecResult, RemoteShell } from './remote-shell.js';
import { quote } from './shell.js';
import { timedOutMessage, type Deadline } from './timeouts.js';
import { traceScript } from './trace.js';

/**
 * One long-lived `sh -s` on a host. Every round trip is a framed script
 * written to its stdin, so the login shell (and whatever its rc files cost)
 * starts once per run instead of once per round trip.
 *
 * Each script runs in a subshell with stdin from /dev/null: an `exit` or a
 * syntax error only ends that script, and nothing in it can read the scripts
 * that follow.
 * Begin and end markers on stdout and on stderr carry a fresh nonce, so no
 * output can fake the end of a script.
 *
 * A round trip with a deadline that passes ends the session: the host is
 * unreachable from then on, and `hangUp` drops the connection, so neither
 * the script's late output nor an open channel is left behind.
 */
export class ShellSession implements RemoteShell {
  private stdout = '';
  private stderr = '';
  private closed?: { code: number | null; signal?: string };
  private current?: Exchange;
  private queue: Promise<unknown> = Promise.resolve();
  /** Why the session is unusable although its channel may not have closed yet (a deadline passed). */
  private lostReason?: string;

  constructor(
    private readonly pipe: ShellPipe,
    private readonly onLost: (reason: string) => Error,
    private readonly hostName = '',
    private readonly hangUp: (reason: string) => void = () => pipe.close(),
  ) {
    pipe.onStdout((chunk) => {
      this.stdout += chunk;
      this.settle();
    });
    pipe.onStderr((chunk) => {
      this.stderr += chunk;
      this.settle();
    });
    pipe.onClose((code, signal) => {
      this.closed = { code, signal };
      this.settle();
    });
  }

  /**
   * Runs one script; scripts run one after another, in the order given. The
   * deadline counts from when the script is sent, not while it waits its turn.
   */
  run(script: string, deadline?: Deadline): Promise<ExecResult> {
    const next = this.queue.then(() => this.exchange(script, deadline));
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    if (!this.closed && !this.lostReason) this.pipe.end();
  }

  private exchange(script: string, deadline: Deadline | undefined): Promise<ExecResult> {
    if (this.lostReason) return Promise.reject(this.onLost(this.lostReason));
    if (this.closed) return Promise.reject(this.onLost('the remote shell has exited'));
    const nonce = `@@pcc-sh-${randomBytes(6).toString('hex')}`;
    return new Promise<ExecResult>((resolve, reject) => {
      const ex: Exchange = { nonce, resolve, reject };
      if (deadline) ex.timer = setTimeout(() => this.expire(ex, deadline), deadline.ms);
      this.current = ex;
      traceScript(this.hostName, script);
      this.pipe.write(frame(script, nonce));
    });
  }

  /** The deadline passed: the round trip fails as unreachable, and the connection goes. */
  private expire(ex: Exchange, deadline: Deadline): void {
    if (this.current !== ex) return;
    this.current = undefined;
    this.lostReason = timedOutMessage(deadline, between(this.stdout, ex.nonce, true)?.text ?? '');
    ex.reject(this.onLost(this.lostReason));
    this.hangUp(this.lostReason);
  }

  private settle(): void {
    const ex = this.current;
    if (!ex) return;
    const out = between(this.stdout, ex.nonce, true);
    const err = between(this.stderr, ex.nonce, false);
    if (out?.done && err?.done) {
      this.finish(ex);
      this.stdout = out.rest;
      this.stderr = err.rest;
      ex.resolve({ code: out.code, stdout: out.text, stderr: err.text });
      return;
    }
    if (!this.closed) return;
    this.finish(ex);
    // The shell itself went away mid-script: a syntax error or a refused sudo
    // still leaves an exit status; a dead connection leaves none.
    if (this.closed.code === null) {
      ex.reject(this.onLost(`connection lost (${this.closed.signal ?? 'no exit status'})`));
      return;
    }
    ex.resolve({ code: this.closed.code || 1, stdout: out?.text ?? this.stdout, stderr: err?.text ?? this.stderr });
  }

  private finish(ex: Exchange): void {
    this.current = undefined;
    if (ex.timer) clearTimeout(ex.timer);
  }
}

/**
 * The shell's end of the pipe, whatever carries it: an SSH channel (see
 * `channelPipe`) or a local child process. Output arrives decoded as UTF-8
 * streams, so a character split across two chunks stays whole.
 */
export interface ShellPipe {
  write(text: string): void;
  /** Ends the shell's stdin: it exits once the script before has run. */
  end(): void;
  /** Drops it at once. */
  close(): void;
  onStdout(listener: (chunk: string) => void): void;
  onStderr(listener: (chunk: string) => void): void;
  /** The shell has gone: its exit status, or null when it left none (the connection died). */
  onClose(listener: (code: number | null, signal?: string) => void): void;
}

/** An SSH channel as a shell pipe: its exit status comes with 'exit', its end with 'close'. */
export function channelPipe(channel: ClientChannel): ShellPipe {
  let code: number | null = null;
  let signal: string | undefined;
  channel.setEncoding('utf8');
  channel.stderr.setEncoding('utf8');
  channel.on('exit', (c: number | null, s?: string) => {
    code = c;
    signal = s;
  });
  return {
    write: (text) => void channel.write(text),
    end: () => void channel.end(),
    close: () => void channel.close(),
    onStdout: (listener) => void channel.on('data', listener),
    onStderr: (listener) => void channel.stderr.on('data', listener),
    onClose: (listener) => void channel.on('close', () => listener(code, signal)),
  };
}

interface Exchange {
  nonce: string;
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * The script travels as one quoted word for eval, so the session shell always
 * parses the frame itself: a syntax error in the script (a user's command with
 * an unclosed quote) ends only the script's subshell, never the session.
 */
function frame(script: string, nonce: string): string {
  return [
    `printf '%s\\n' '${nonce} begin'; printf '%s\\n' '${nonce} begin' >&2`,
    `( eval ${quote(script)}`,
    ') </dev/null',
    `printf '\\n%s %s\\n' '${nonce} end' "$?"; printf '\\n%s\\n' '${nonce} end' >&2`,
    '',
  ].join('\n');
}

/** The text between a frame's markers, once its end has arrived. */
function between(buffer: string, nonce: string, withCode: boolean): { text: string; done: boolean; code: number; rest: string } | undefined {
  const begin = findMarker(buffer, `${nonce} begin\n`);
  if (!begin) return undefined;
  const end = findMarker(buffer, withCode ? `\n${nonce} end ` : `\n${nonce} end\n`, begin.next);
  if (!end) return { text: buffer.slice(begin.next), done: false, code: 0, rest: '' };
  return { text: buffer.slice(begin.next, end.at), done: true, code: Number(end.value), rest: buffer.slice(end.next) };
}
