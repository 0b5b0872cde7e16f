import { commandSucceeds, pathExists } from '../facts/files.js';
import type { Fact } from '../facts/fact.js';
import { type Command } from '../remote/shell.js';
import { ANYTHING, type Operation } from './operation.js';

export interface CommandOptions {
  /** Skip when this path exists; the command is expected to create it. */
  creates?: string;
  /** Skip when this sh check succeeds. */
  unless?: string;
  /** Run only when this sh check succeeds. */
  onlyIf?: string;
  name?: string;
  env?: Record<string, string>;
}

/**
 * Runs a command unless its guard says the work is done. Without `creates`
 * nobody knows what it changes, so every later fact is read again after it.
 */
export function command(run: string | readonly string[], options: CommandOptions = {}): Operation {
  const argv = typeof run === 'string' ? ['sh', '-c', run] : [...run];
  const creates = options.creates ? pathExists(options.creates) : undefined;
  const unless = options.unless ? commandSucceeds(options.unless) : undefined;
  const onlyIf = options.onlyIf ? commandSucceeds(options.onlyIf) : undefined;
  const facts = [creates, unless, onlyIf].filter((f): f is Fact<boolean> => f !== undefined);
  const shown = typeof run === 'string' ? run : run.join(' ');
  return {
    name: options.name ?? `command ${shown}`,
    facts,
    touches: options.creates ? [options.creates] : [ANYTHING],
    plan(read) {
      if (creates && read(creates)) return undefined;
      if (unless && read(unless)) return undefined;
      if (onlyIf && !read(onlyIf)) return undefined;
      const c: Command = { argv, env: options.env };
      return { commands: [c], summary: 'run' };
    },
  };
}
