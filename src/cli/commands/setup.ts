import { setupHosts } from '../../fleet/setup.js';
import { runFailed } from '../../playbook/result.js';
import type { CliContext } from '../context.js';
import { renderRecap } from '../recap.js';

export default async function setupCommand(args: { pattern: string; dry: boolean }, ctx: CliContext): Promise<number> {
  const result = await setupHosts(args.pattern, ctx.core({ dry: args.dry }));
  if (ctx.json) ctx.emitJson(result);
  else ctx.out(renderRecap(result));
  return runFailed(result) ? 2 : 0;
}
