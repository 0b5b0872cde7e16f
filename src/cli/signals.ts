import { currentActivity, interrupt } from '../core/interrupt.js';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';

/** How long the live view may take to draw its last frame before the message is written anyway. */
const END_VIEW_MS = 1_500;

/**
 * Ctrl-C and SIGTERM: end the live view, say what was interrupted (the
 * activity the core named, else the command and the last step it reported),
 * stop the remote commands pcc started (the core registered them), and exit
 * 130. Locks go with the process (proper-lockfile's exit hook), and every
 * file pcc owns is written atomically, so running the same command again
 * converges. A second signal exits at once.
 *
 * The view ends first because on a terminal listr2 redraws its rows in place:
 * lines written while it still draws are drawn over by its next frame, and
 * an exit in between leaves its spinners frozen on the screen. Ended, its
 * unfinished rows are marked so, and the lines below it stay.
 */
export function installSignalHandlers(command: string, ctx: CliContext): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    const step = ctx.lastStep();
    const what = currentActivity() ?? (step ? `${command} (at: ${step})` : command);
    // The remote commands are asked to stop at once; the view's last frame is drawn meanwhile.
    const stopped = interrupt();
    void Promise.race([ctx.finish(), new Promise((r) => setTimeout(r, END_VIEW_MS).unref())])
      .then(() => {
        process.stderr.write(`\npcc: interrupted (${signal}) during ${what}; stopping the remote commands pcc started\n`);
        return stopped;
      })
      .finally(() => {
        process.stderr.write(`pcc: stopped; nothing is left half-written, and running ${command} again picks up from here\n`);
        process.exit(EXIT.interrupted);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
