import { DescribeSpotPriceHistoryCommand, type Instance, type _InstanceType } from '@aws-sdk/client-ec2';
import type { HostStatus, ProviderContext } from '../types.js';
import type { AwsClients } from './clients.js';
import { projectInstances, stateOf } from './instances.js';
import { onDemandPrice } from './prices.js';
import { ec2Hosts, hostByInstanceId } from './record.js';

const BILLED = ['pending', 'running'];

/**
 * One line per instance of the project in a region, tracked or not: an
 * instance missing from the state still costs money, so it shows (named by
 * its id, in the group `untracked`). A host the state lists but AWS no
 * longer has shows as `missing`.
 */
export async function regionStatus(aws: AwsClients, ctx: ProviderContext): Promise<HostStatus[]> {
  const state = await ctx.state.read();
  const instances = await projectInstances(aws, ctx.project);
  const spotPrices = await spotPriceTable(aws, instances.filter((i) => i.InstanceLifecycle === 'spot' && BILLED.includes(stateOf(i))));
  const live = instances.map((i): HostStatus => {
    const host = hostByInstanceId(state, i.InstanceId);
    const billed = BILLED.includes(stateOf(i));
    const price = i.InstanceLifecycle === 'spot' ? spotPrices.get(priceKey(i)) : onDemandPrice(i.InstanceType ?? '');
    const address = i.PublicIpAddress ?? i.PrivateIpAddress;
    return {
      name: host?.name ?? i.InstanceId!,
      provider: 'ec2',
      state: stateOf(i),
      ...(billed && i.LaunchTime ? { since: i.LaunchTime.toISOString() } : {}),
      ...(billed && price !== undefined ? { usdPerHour: price } : {}),
      ...(address ? { address } : {}),
      groups: host?.groups ?? ['ec2', 'untracked', i.InstanceType ?? 'unknown'],
    };
  });
  // Hosts the state still lists but AWS no longer has (terminated elsewhere): say so, so the state can be cleaned.
  const seen = new Set(instances.map((i) => i.InstanceId));
  const gone = ec2Hosts(state)
    .filter((h) => (h.region ?? aws.region) === aws.region && !seen.has(h.providerId))
    .map((h): HostStatus => ({ name: h.name, provider: 'ec2', state: 'missing', groups: h.groups }));
  return [...live, ...gone];
}

/** Latest spot price per instance type and zone, in one DescribeSpotPriceHistory for all types. */
async function spotPriceTable(aws: AwsClients, spot: readonly Instance[]): Promise<Map<string, number>> {
  const table = new Map<string, { price: number; at: number }>();
  if (spot.length === 0) return new Map();
  const types = [...new Set(spot.map((i) => i.InstanceType!))] as _InstanceType[];
  const out = await aws.ec2.send(
    new DescribeSpotPriceHistoryCommand({ InstanceTypes: types, ProductDescriptions: ['Linux/UNIX'], StartTime: new Date() }),
  );
  for (const p of out.SpotPriceHistory ?? []) {
    const key = `${p.InstanceType}/${p.AvailabilityZone}`;
    const at = p.Timestamp?.getTime() ?? 0;
    const price = Number(p.SpotPrice);
    const seen = table.get(key);
    if (Number.isFinite(price) && (!seen || at > seen.at)) table.set(key, { price, at });
  }
  return new Map([...table].map(([k, v]) => [k, v.price]));
}

function priceKey(i: Instance): string {
  return `${i.InstanceType}/${i.Placement?.AvailabilityZone}`;
}
