import type { ListedHost } from '../types.js';
import type { ProviderContext } from '../types.js';
import type { AwsClients } from './clients.js';
import { projectInstances, stateOf } from './instances.js';
import { ensureUserKey } from '../../core/user-key.js';
import { hostByInstanceId, recordInstances } from './record.js';
import { tagValue, TAG_REQUEST, TAG_ROLE } from './tags.js';

/**
 * The project's instances in one region, found by the project id tag, as the
 * reconcile sees them: spec = the `pcc:request` tag, pending counts as
 * running, stopping as stopped. An instance the state does not know is
 * named by its id, so it is counted (and can be released) all the same.
 */
export async function listRegion(aws: AwsClients, ctx: ProviderContext): Promise<ListedHost[]> {
  let state = await ctx.state.read();
  const instances = (await projectInstances(aws, ctx.project)).filter((i) => stateOf(i) !== 'shutting-down');
  const untracked = instances.filter((i) => !hostByInstanceId(state, i.InstanceId));
  // Known instances whose record fell behind: a run killed after StopInstances, StartInstances or
  // RunInstances but before it wrote what came of it. The re-run finds nothing left to do, so
  // without this the state would keep saying `running` for a stopped host (or `pending`, with
  // the private address, for a running one) and the aliases would point at the old address.
  const stale = instances.filter((i) => {
    const known = hostByInstanceId(state, i.InstanceId);
    return known !== undefined && (known.status !== stateOf(i) || (i.PublicIpAddress !== undefined && known.address !== i.PublicIpAddress));
  });
  if (untracked.length + stale.length > 0 && !ctx.dry) {
    // Instances of this project the state never saw (a run killed right after RunInstances): recorded
    // now, so that what is counted is also what gets aliases, setup and a destroy.
    const key = await ensureUserKey(ctx.project, ctx.settings);
    await recordInstances(ctx, aws.region, [...untracked, ...stale], key.privateKey);
    state = await ctx.state.read();
  }
  return instances.map((i) => ({
      name: hostByInstanceId(state, i.InstanceId)?.name ?? i.InstanceId!,
      role: tagValue(i.Tags, TAG_ROLE) === 'controller' ? 'controller' : 'compute',
      spec: tagValue(i.Tags, TAG_REQUEST) ?? 'unknown',
      state: ['pending', 'running'].includes(stateOf(i)) ? 'running' : 'stopped',
    }));
}
