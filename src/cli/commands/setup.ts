import { setupHosts } from '../../fleet/setup.js';
import { runFailed } from '../../playbook/result.js';
import type { CliContext } from '../context.js';
import { exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';

export default async function setupCommand(args: { pattern: string; dry: boolean }, ctx: CliContext): Promise<number> {
  const result = await setupHosts(args.pattern, ctx.core({ dry: args.dry }));
  if (ctx.json) ctx.emitJson(result);
  else {
    ctx.out(renderRecap(result));
    if (!args.dry && !runFailed(result)) ctx.next([ctx.pcc`build --on init`, ctx.pcc`exec ${args.pattern} -- docker info`, ctx.pcc`run PLAYBOOK.ts ${args.pattern}`]);
    if (args.dry) ctx.next([ctx.pcc`setup ${args.pattern}`]);
  }
  return exitCodeForHosts(result.hosts);
}
