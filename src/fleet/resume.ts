import type { RunResult } from '../playbook/result.js';
import type { ProviderContext } from '../providers/types.js';
import { CONTROLLER } from './cluster.js';
import { resumeHosts, type AcquireOutcome } from './lifecycle.js';
import { setupHosts } from './setup.js';

export interface ResumeOutcome extends AcquireOutcome {
  /** The setup run that brought the overlay and swarm up to date (new addresses after a stop), when there is a controller. */
  setup?: RunResult;
}

/**
 * `pcc resume P`: the saved hosts come back (planned by the reconcile: it
 * starts what was saved and never creates), and then setup runs on them, so
 * that the overlay follows addresses that changed while they were stopped
 * (EC2 gives new public IPs) and the swarm has them again. Without the SSH
 * wait (`--no-wait`) nothing says the hosts are up, so setup is left to the
 * user, as after `acquire --no-wait`.
 */
export async function resume(providerName: string, ctx: ProviderContext, options: { wait: boolean }): Promise<ResumeOutcome> {
  const outcome = await resumeHosts(providerName, ctx, options);
  if (ctx.dry || outcome.plan.length === 0 || !options.wait) return outcome;
  const after = await ctx.state.read();
  const controller = after.hosts[CONTROLLER];
  const enrolled = outcome.hosts.filter((h) => h.overlayAddress);
  if (!controller || (controller.status ?? 'running') !== 'running' || enrolled.length === 0 || outcome.unreachable.length > 0) return outcome;
  const setup = await setupHosts(enrolled.map((h) => h.name).join(':'), ctx);
  return { ...outcome, setup };
}
