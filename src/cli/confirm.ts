import { createInterface } from 'node:readline/promises';
import { InterruptedError, UsageError } from '../core/errors.js';
import type { CliContext } from './context.js';

/** One yes/no question on the terminal; anything but y/yes is no. `unchanged`: what Ctrl-C at the question leaves, for its message. */
export async function confirm(question: string, unchanged = 'nothing removed'): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } catch (err) {
    // Ctrl-C at the question: readline rejects it with an AbortError, which is a no said by interrupting.
    if ((err as { code?: string }).code === 'ABORT_ERR') {
      process.stderr.write('\n');
      throw new InterruptedError(`interrupted at the question; ${unchanged}`);
    }
    throw err;
  } finally {
    rl.close();
  }
}

/**
 * The one rule for commands that remove (destroy, release, volume rm): what
 * goes is listed first; on a terminal pcc asks, and without one it needs
 * --yes, exiting 2 with nothing removed. False when the user said no.
 */
export async function confirmRemoval(lines: readonly string[], command: string, yes: boolean, ctx: CliContext): Promise<boolean> {
  if (yes) return true;
  for (const line of lines) ctx.err(line);
  if (!canAsk()) throw new UsageError(`${command} removes the above; run it on a terminal to confirm, or pass --yes`);
  if (await confirm(`remove ${lines.length === 1 ? 'this' : `all of this (${lines.length} items)`}? [y/N] `)) return true;
  ctx.err('nothing removed');
  return false;
}

/** Whether pcc can ask: a person at a terminal on both ends of the question. */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}
