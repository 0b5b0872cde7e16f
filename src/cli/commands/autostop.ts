import { describeSetting, parseMinutes, type AutostopSetting } from '../../autostop/setting.js';
import { UserInputError } from '../../core/errors.js';
import { autostopPattern } from '../../fleet/autostop.js';
import type { CliContext } from '../context.js';
import { exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';

interface Args {
  pattern: string;
  idle?: string;
  lease?: string;
  down: boolean;
  off: boolean;
  dry: boolean;
  'static-ok': boolean;
}

/** `--idle 30m [--lease 12h] [--down]`, or `--off`; anything else is a one-line error naming the flag. */
export function settingFromFlags(args: Pick<Args, 'idle' | 'lease' | 'down' | 'off'>): AutostopSetting | undefined {
  if (args.off) {
    if (args.idle !== undefined || args.lease !== undefined || args.down) throw new UserInputError('--off takes no --idle, --lease or --down; give either --off or --idle DURATION');
    return undefined;
  }
  if (args.idle === undefined) throw new UserInputError('pcc autostop needs --idle DURATION (e.g. --idle 30m), or --off');
  return {
    idleMinutes: parseMinutes(args.idle, '--idle'),
    down: args.down,
    ...(args.lease !== undefined ? { leaseMinutes: parseMinutes(args.lease, '--lease') } : {}),
  };
}

export default async function autostopCommand(args: Args, ctx: CliContext): Promise<number> {
  const setting = settingFromFlags(args);
  const outcome = await autostopPattern(args.pattern, setting, ctx.core({ dry: args.dry }), { staticOk: args['static-ok'] });
  if (ctx.json) ctx.emitJson(outcome);
  else {
    for (const h of outcome.hosts) ctx.out(`${h.name}: autostop ${h.autostop ? describeSetting(h.autostop) : 'off'}${args.dry ? ' (dry: nothing recorded)' : ''}`);
    if (outcome.result) ctx.out(renderRecap(outcome.result));
    for (const n of outcome.notRunning) ctx.err(`${n}: not running; its setting is recorded and the agent goes on at its next pcc setup`);
  }
  return outcome.result ? exitCodeForHosts(outcome.result.hosts) : 0;
}
