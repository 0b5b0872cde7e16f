import { spawn } from 'node:child_process';
import { UnreachableError } from '../core/errors.js';
import type { RemoteShell } from './remote-shell.js';
import { ShellSession, type ShellPipe } from './shell-session.js';

export interface LocalShellOptions {
  /** Shown in messages and traces, as a host's name is. */
  name?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * A `sh -s` on this machine behind the same framing as a host's session: the
 * runner cannot tell it from SSH, so its scripts and round trips are tested
 * on it without sshd.
 */
export function openLocalShell(options: LocalShellOptions = {}): RemoteShell {
  const name = options.name ?? 'local';
  // A process group of its own, so dropping the shell also stops what its script started.
  const child = spawn('sh', ['-s'], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  // A write after sh has gone is reported by the session (the shell has exited), not as an uncaught error.
  child.stdin.on('error', () => undefined);
  const pipe: ShellPipe = {
    write: (text) => void child.stdin.write(text),
    end: () => child.stdin.end(),
    close: () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // It has gone already.
      }
    },
    onStdout: (listener) => void child.stdout.on('data', listener),
    onStderr: (listener) => void child.stderr.on('data', listener),
    onClose: (listener) => void child.on('close', (code, signal) => listener(code, signal ?? undefined)),
  };
  return new ShellSession(pipe, (reason) => new UnreachableError(name, `${name}: ${reason}`), name);
}
