import { acquire } from '../../fleet/lifecycle.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

/** Resuming is acquiring with nothing new: every provider brings back its saved hosts first. */
export default async function resumeCommand(args: { provider: string }, ctx: CliContext): Promise<number> {
  const core = ctx.core();
  const state = await core.state.read();
  const saved = Object.values(state.hosts).filter((h) => h.provider === args.provider);
  if (saved.length === 0) {
    ctx.out(`no saved ${args.provider} hosts; create some with pcc acquire ${args.provider}`);
    return 0;
  }
  const outcome = await acquire(args.provider, { type: 'cpu', count: saved.length, wait: args.provider !== 'ec2' }, core);
  if (ctx.json) ctx.emitJson(outcome);
  else ctx.out(`resumed: ${outcome.hosts.map((h) => h.name).join(', ')}`);
  ctx.next([`pcc setup ${args.provider}`]);
  return outcome.unreachable.length ? EXIT.unreachable : EXIT.ok;
}
