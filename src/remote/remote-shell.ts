import type { Deadline } from './timeouts.js';

/** What one script or command left behind: its exit status and its output. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A shell that takes scripts one after another and answers each with its
 * exit status and output. The runner talks to a host only through this: an
 * SSH session's `sh -s` on a real host (ShellSession over a Connection), or a
 * local `sh -s` (openLocalShell), which is how the runner is tested without
 * sshd. A round trip that cannot finish rejects with UnreachableError.
 */
export interface RemoteShell {
  run(script: string, deadline?: Deadline): Promise<ExecResult>;
  close(): void;
}
