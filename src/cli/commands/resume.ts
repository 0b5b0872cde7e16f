import { resume } from '../../fleet/resume.js';
import type { CliContext } from '../context.js';
import { EXIT, exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';

/** Starts what was saved, and never creates anything: a resume costs no new host. */
export default async function resumeCommand(args: { provider: string; wait: boolean; dry: boolean }, ctx: CliContext): Promise<number> {
  const outcome = await resume(args.provider, ctx.core({ dry: args.dry }), { wait: args.wait && !args.dry && args.provider !== 'ec2' });
  if (ctx.json) ctx.emitJson(outcome);
  else if (outcome.plan.length === 0) ctx.out(`no saved ${args.provider} hosts; create some with pcc acquire ${args.provider}`);
  else if (!args.dry) {
    ctx.out(`resumed: ${outcome.hosts.map((h) => h.name).join(', ')}`);
    if (outcome.setup) ctx.out(renderRecap(outcome.setup));
  }
  for (const u of outcome.unreachable) ctx.err(`${u.host}: not reachable over ssh yet: ${u.error}`);
  if (!outcome.setup) ctx.next([`pcc setup ${args.provider}`]);
  if (outcome.setup && exitCodeForHosts(outcome.setup.hosts) !== EXIT.ok) return exitCodeForHosts(outcome.setup.hosts);
  return outcome.unreachable.length ? EXIT.unreachable : EXIT.ok;
}
