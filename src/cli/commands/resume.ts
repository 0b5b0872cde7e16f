import { resume } from '../../fleet/resume.js';
import type { CliContext } from '../context.js';
import { EXIT, exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';

/**
 * Starts what was saved, and never creates anything: a resume costs no new
 * host. It waits for SSH on every provider, as acquire does (an EC2 host
 * takes a while to boot); a host started but not answering is said as such,
 * never as resumed. `--no-wait` only starts them.
 */
export default async function resumeCommand(args: { provider: string; wait: boolean; dry: boolean }, ctx: CliContext): Promise<number> {
  const wait = args.wait && !args.dry;
  const outcome = await resume(args.provider, ctx.core({ dry: args.dry }), { wait });
  const unreachable = new Set(outcome.unreachable.map((u) => u.host));
  const up = outcome.hosts.filter((h) => !unreachable.has(h.name));
  if (ctx.json) ctx.emitJson(outcome);
  else if (outcome.plan.length === 0) ctx.out(`no saved ${args.provider} hosts; create some with ${ctx.pcc`acquire ${args.provider}`}`);
  else if (!args.dry) {
    if (up.length) ctx.out(`resumed: ${up.map((h) => h.name).join(', ')}${wait ? '' : ' (--no-wait: not waited for ssh)'}`);
    if (outcome.setup) ctx.out(renderRecap(outcome.setup));
  }
  for (const u of outcome.unreachable) ctx.err(`${u.host}: started, but not reachable over ssh yet: ${u.error}`);
  if (args.dry && outcome.plan.length > 0) ctx.next([ctx.pcc`resume ${args.provider}`]);
  else if (!args.dry && outcome.plan.length > 0 && !outcome.setup) ctx.next([ctx.pcc`setup ${args.provider}`]);
  if (outcome.setup && exitCodeForHosts(outcome.setup.hosts) !== EXIT.ok) return exitCodeForHosts(outcome.setup.hosts);
  return outcome.unreachable.length ? EXIT.unreachable : EXIT.ok;
}
