import { release } from '../../fleet/lifecycle.js';
import type { CliContext } from '../context.js';
import { confirmRemoval } from '../confirm.js';
import { quote } from '../../remote/shell.js';

/**
 * Scale down: the named hosts go (with disks, overlay keys and aliases); the
 * others and the shared resources stay. What goes is listed and asked for first.
 */
export default async function releaseCommand(args: { hosts: string[]; dry: boolean; yes: boolean }, ctx: CliContext): Promise<number> {
  const what = `pcc release ${args.hosts.map(quote).join(' ')}`;
  let targets = args.hosts;
  // With --yes the run goes straight on: the same provider calls as with no question at all.
  if (args.dry || !args.yes) {
    const plan = await release(args.hosts, ctx.core({ dry: true }));
    const lines = plan.removed.map((line) => `would remove ${line}`);
    if (args.dry || lines.length === 0) {
      if (ctx.json) ctx.emitJson(plan);
      else if (lines.length === 0) ctx.out(`nothing to remove for ${what}`);
      else for (const line of lines) ctx.out(line);
      return 0;
    }
    if (!(await confirmRemoval(lines, what, false, ctx))) return 1;
    // Exactly the hosts shown: one that a pattern would match only now (acquired while pcc asked) stays.
    targets = plan.plan.flatMap((step) => (step.op === 'terminate' ? step.hosts : []));
  }
  const outcome = await release(targets, ctx.core());
  if (ctx.json) ctx.emitJson(outcome);
  else for (const line of outcome.removed) ctx.out(`removed ${line}`);
  return 0;
}
