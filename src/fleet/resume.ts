import { PccError } from '../core/errors.js';
import type { RunResult } from '../playbook/result.js';
import type { ProviderContext } from '../providers/types.js';
import { CONTROLLER } from './cluster.js';
import { acquire, type AcquireOutcome } from './lifecycle.js';
import { setupHosts } from './setup.js';

export interface ResumeOutcome extends AcquireOutcome {
  /** The setup run that brought the overlay and swarm up to date (new addresses after a stop), when there is a controller. */
  setup?: RunResult;
}

/**
 * `pcc resume P`: the saved hosts come back, and then setup runs on them, so
 * that the overlay follows addresses that changed while they were stopped
 * (EC2 gives new public IPs) and the swarm has them again.
 */
export async function resume(providerName: string, ctx: ProviderContext): Promise<ResumeOutcome> {
  const state = await ctx.state.read();
  const saved = Object.values(state.hosts).filter((h) => h.provider === providerName);
  if (saved.length === 0) throw new PccError(`no saved ${providerName} hosts; create some with pcc acquire ${providerName}`);
  const outcome = await acquire(providerName, { type: 'cpu', count: saved.length, resumeOnly: true, wait: providerName !== 'ec2' }, ctx);
  const after = await ctx.state.read();
  const controller = after.hosts[CONTROLLER];
  const enrolled = outcome.hosts.filter((h) => h.overlayAddress);
  if (ctx.dry || !controller || (controller.status ?? 'running') !== 'running' || enrolled.length === 0 || outcome.unreachable.length > 0) return outcome;
  const setup = await setupHosts(enrolled.map((h) => h.name).join(':'), ctx);
  return { ...outcome, setup };
}
