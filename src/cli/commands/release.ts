import { release } from '../../fleet/lifecycle.js';
import type { CliContext } from '../context.js';

/** Scale down: the named hosts go (with disks, overlay keys and aliases); the others and the shared resources stay. */
export default async function releaseCommand(args: { hosts: string[]; dry: boolean }, ctx: CliContext): Promise<number> {
  const outcome = await release(args.hosts, ctx.core({ dry: args.dry }));
  if (ctx.json) ctx.emitJson(outcome);
  else for (const line of outcome.removed) ctx.out(`${args.dry ? 'would remove' : 'removed'} ${line}`);
  return 0;
}
