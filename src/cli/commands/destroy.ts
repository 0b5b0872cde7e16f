import { destroy } from '../../fleet/lifecycle.js';
import type { CliContext } from '../context.js';

export default async function destroyCommand(args: { provider: string }, ctx: CliContext): Promise<number> {
  const report = await destroy(args.provider, ctx.core());
  if (ctx.json) ctx.emitJson(report);
  else if (report.removed.length === 0) ctx.out(`nothing of ${args.provider} to remove`);
  else for (const line of report.removed) ctx.out(`removed ${line}`);
  return 0;
}
