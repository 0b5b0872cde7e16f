import { destroy, destroyPlan } from '../../fleet/lifecycle.js';
import { remainingVolumeLines } from '../../fleet/volumes.js';
import type { CliContext } from '../context.js';
import { confirmRemoval } from '../confirm.js';

/**
 * Shows what will go, then asks on a terminal; without one it needs --yes.
 * --dry lists and stops there.
 */
export default async function destroyCommand(args: { provider: string; yes: boolean; dry: boolean }, ctx: CliContext): Promise<number> {
  const core = ctx.core();
  const plan = await destroyPlan(args.provider, core);
  if (args.dry || plan.removed.length === 0) {
    if (ctx.json) ctx.emitJson(plan);
    else if (plan.removed.length === 0) ctx.out(`nothing of ${args.provider} to remove`);
    else for (const line of plan.removed) ctx.out(line);
    for (const line of await remainingVolumeLines(args.provider, core)) ctx.err(line.replace(' remains ', args.dry ? ' would remain ' : ' remains '));
    return 0;
  }
  if (!(await confirmRemoval(plan.removed, `pcc destroy ${args.provider}`, args.yes, ctx))) return 1;
  const report = await destroy(args.provider, core);
  // Volumes outlive destroy: said, with what they cost while they stay.
  const kept = await remainingVolumeLines(args.provider, core);
  if (ctx.json) ctx.emitJson({ ...report, kept });
  else if (report.removed.length === 0) ctx.out(`nothing of ${args.provider} to remove`);
  else for (const line of report.removed) ctx.out(`removed ${line}`);
  for (const line of kept) ctx.err(line);
  return 0;
}
