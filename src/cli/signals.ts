import { currentActivity, interrupt } from '../core/interrupt.js';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';

/**
 * Ctrl-C and SIGTERM: say what was interrupted, stop the remote commands pcc
 * started (the core registered them), end the live view, and exit 130. Locks
 * go with the process (proper-lockfile's exit hook), and every file pcc owns
 * is written atomically, so running the same command again converges. A
 * second signal exits at once.
 */
export function installSignalHandlers(command: string, ctx: CliContext): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    void ctx.finish();
    const what = currentActivity() ?? command;
    process.stderr.write(`\npcc: interrupted (${signal}) during ${what}; stopping the remote commands pcc started\n`);
    void interrupt().finally(() => {
      process.stderr.write(`pcc: stopped; nothing is left half-written, and running ${command} again picks up from here\n`);
      process.exit(EXIT.interrupted);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
