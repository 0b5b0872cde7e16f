import { DescribeImagesCommand, DescribeSnapshotsCommand, DescribeSpotPriceHistoryCommand, DescribeVolumesCommand, type Instance, type _InstanceType } from '@aws-sdk/client-ec2';
import type { HostStatus, HourlyPrice, ProviderContext, StorageCost } from '../types.js';
import { projectFilter } from './tags.js';
import type { AwsClients } from './clients.js';
import { projectInstances, stateOf } from './instances.js';
import { onDemandPrices } from './price-book.js';
import { STORAGE_PRICES_DATE, storagePrice } from './prices.js';
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
  const billedNow = instances.filter((i) => BILLED.includes(stateOf(i)));
  const spotPrices = await spotPriceTable(aws, billedNow.filter((i) => i.InstanceLifecycle === 'spot'));
  const onDemand = await onDemandPrices(
    aws,
    ctx,
    billedNow.filter((i) => i.InstanceLifecycle !== 'spot').map((i) => i.InstanceType ?? 'unknown'),
  );
  const disks = await stoppedDisks(aws, instances.filter((i) => stateOf(i) === 'stopped'));
  const live = instances.map((i): HostStatus => {
    const host = hostByInstanceId(state, i.InstanceId);
    const billed = BILLED.includes(stateOf(i));
    const type = i.InstanceType ?? 'unknown';
    const spot = i.InstanceLifecycle === 'spot';
    const price = spot
      ? { usdPerHour: spotPrices.get(priceKey(i)), source: 'DescribeSpotPriceHistory, now' }
      : (onDemand.get(type) ?? { source: 'unknown' });
    const address = i.PublicIpAddress ?? i.PrivateIpAddress;
    const disk = disks.get(i.InstanceId!);
    return {
      name: host?.name ?? i.InstanceId!,
      provider: 'ec2',
      state: stateOf(i),
      ...(billed && i.LaunchTime ? { since: i.LaunchTime.toISOString() } : {}),
      ...(billed && price.usdPerHour !== undefined ? { usdPerHour: price.usdPerHour, priceSource: price.source } : {}),
      ...(billed && price.usdPerHour === undefined ? { unpriced: spot ? `${type} (spot)` : type } : {}),
      ...(disk ? { usdPerMonth: disk.usdPerMonth, storage: disk.what } : {}),
      ...(address ? { address } : {}),
      groups: host?.groups ?? ['ec2', 'untracked', type],
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

/**
 * What a stopped instance's EBS volumes cost per month (its disks stay
 * billed while it is stopped): sizes and types from DescribeVolumes, prices
 * per GB-month from prices.ts.
 */
async function stoppedDisks(aws: AwsClients, stopped: readonly Instance[]): Promise<Map<string, { usdPerMonth: number; what: string }>> {
  const out = new Map<string, { usdPerMonth: number; what: string }>();
  const volumeIds = stopped.flatMap((i) => (i.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.VolumeId ? [m.Ebs.VolumeId] : [])));
  if (volumeIds.length === 0) return out;
  const res = await aws.ec2.send(new DescribeVolumesCommand({ VolumeIds: volumeIds }));
  for (const v of res.Volumes ?? []) {
    const instance = v.Attachments?.[0]?.InstanceId;
    if (!instance || !v.Size) continue;
    const kind = v.VolumeType ?? 'gp3';
    const perGb = storagePrice(kind) ?? storagePrice('gp3')!;
    const seen = out.get(instance) ?? { usdPerMonth: 0, what: '' };
    out.set(instance, {
      usdPerMonth: seen.usdPerMonth + v.Size * perGb,
      what: `${seen.what ? `${seen.what} + ` : ''}${v.Size} GB ${kind} at $${perGb}/GB-month (${STORAGE_PRICES_DATE})`,
    });
  }
  return out;
}

/**
 * What one more host of the spec costs per hour: on-demand from the price
 * book, spot from the latest DescribeSpotPriceHistory (the dearest zone,
 * since the launch may land in any).
 */
export async function specPrice(aws: AwsClients, ctx: ProviderContext, instanceType: string, spot: boolean): Promise<HourlyPrice> {
  if (!spot) {
    const priced = (await onDemandPrices(aws, ctx, [instanceType])).get(instanceType);
    return priced?.usdPerHour === undefined ? { usdPerHour: undefined } : { usdPerHour: priced.usdPerHour, source: priced.source };
  }
  const out = await aws.ec2.send(
    new DescribeSpotPriceHistoryCommand({ InstanceTypes: [instanceType as _InstanceType], ProductDescriptions: ['Linux/UNIX'], StartTime: new Date() }),
  );
  const latest = new Map<string, { price: number; at: number }>();
  for (const p of out.SpotPriceHistory ?? []) {
    const price = Number(p.SpotPrice);
    const at = p.Timestamp?.getTime() ?? 0;
    const seen = latest.get(p.AvailabilityZone ?? '');
    if (Number.isFinite(price) && (!seen || at > seen.at)) latest.set(p.AvailabilityZone ?? '', { price, at });
  }
  const prices = [...latest.values()].map((v) => v.price);
  return prices.length > 0 ? { usdPerHour: Math.max(...prices), source: `DescribeSpotPriceHistory (${aws.region}), now` } : { usdPerHour: undefined };
}

/**
 * The project's AMIs (pcc save --snapshot) and snapshots, per month: each
 * snapshot at its volume's size, which is what a first full snapshot holds
 * and at most what later ones add (EBS bills the blocks stored).
 */
export async function regionStorage(aws: AwsClients, ctx: ProviderContext): Promise<StorageCost[]> {
  const perGb = storagePrice('snapshot')!;
  const images = (await aws.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [projectFilter(ctx.project)] }))).Images ?? [];
  const snapshots = (await aws.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [projectFilter(ctx.project)] }))).Snapshots ?? [];
  const size = new Map(snapshots.map((s) => [s.SnapshotId!, s.VolumeSize ?? 0]));
  const out: StorageCost[] = [];
  const counted = new Set<string>();
  for (const img of images) {
    const snaps = (img.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [{ id: m.Ebs.SnapshotId, gb: m.Ebs.VolumeSize ?? size.get(m.Ebs.SnapshotId) ?? 0 }] : []));
    for (const s of snaps) counted.add(s.id);
    const gb = snaps.reduce((n, s) => n + s.gb, 0);
    out.push({ provider: 'ec2', what: `AMI ${img.ImageId} (${aws.region}): ${gb} GB of snapshots at $${perGb}/GB-month (${STORAGE_PRICES_DATE})`, usdPerMonth: gb * perGb });
  }
  for (const s of snapshots.filter((x) => !counted.has(x.SnapshotId!))) {
    const gb = s.VolumeSize ?? 0;
    out.push({ provider: 'ec2', what: `snapshot ${s.SnapshotId} (${aws.region}): ${gb} GB at $${perGb}/GB-month (${STORAGE_PRICES_DATE})`, usdPerMonth: gb * perGb });
  }
  return out;
}
