import { resume } from '../../fleet/resume.js';
import type { CliContext } from '../context.js';
import { EXIT, exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';

export default async function resumeCommand(args: { provider: string }, ctx: CliContext): Promise<number> {
  const outcome = await resume(args.provider, ctx.core());
  if (ctx.json) ctx.emitJson(outcome);
  else {
    ctx.out(`resumed: ${outcome.hosts.map((h) => h.name).join(', ')}`);
    if (outcome.setup) ctx.out(renderRecap(outcome.setup));
  }
  if (!outcome.setup) ctx.next([`pcc setup ${args.provider}`]);
  if (outcome.setup && exitCodeForHosts(outcome.setup.hosts) !== EXIT.ok) return exitCodeForHosts(outcome.setup.hosts);
  return outcome.unreachable.length ? EXIT.unreachable : EXIT.ok;
}
