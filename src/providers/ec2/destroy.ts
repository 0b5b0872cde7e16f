import {
  CancelSpotInstanceRequestsCommand,
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeSpotInstanceRequestsCommand,
  DescribeVolumesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import type { ProviderContext } from '../types.js';
import type { AwsClients } from './clients.js';
import { instanceIds, projectInstances, stateOf, waitFor } from './instances.js';
import { ec2Hosts, hostByInstanceId } from './record.js';
import { LIVE_STATES, projectFilter, tagValue, TAG_VOLUME } from './tags.js';

/**
 * Removes everything of the project in one region, found by the
 * `pcc:project` tag (plus any instance the state still lists), so it works
 * without `.pcc/state.json`. Order matters: spot requests first (or AWS
 * relaunches), then instances (waited for: a security group in use cannot
 * go), then images, snapshots and volumes, then the group and the key pair.
 * Returns one line per removed resource.
 */
export async function sweepRegion(
  aws: AwsClients,
  ctx: ProviderContext,
  delay: { min: number; max: number },
): Promise<string[]> {
  const project = ctx.project;
  const state = await ctx.state.read();
  const verb = ctx.dry ? 'would remove ' : '';
  const removed: string[] = [];
  const say = (line: string) => {
    removed.push(`${verb}${line}`);
  };

  const spot = await aws.ec2.send(
    new DescribeSpotInstanceRequestsCommand({
      Filters: [projectFilter(project), { Name: 'state', Values: ['open', 'active', 'disabled'] }],
    }),
  );
  const spotIds = (spot.SpotInstanceRequests ?? []).map((r) => r.SpotInstanceRequestId!);

  const tagged = await projectInstances(aws, project);
  const stateIds = ec2Hosts(state)
    .filter((h) => (h.region ?? aws.region) === aws.region && h.providerId)
    .map((h) => h.providerId!);
  const untagged = await describeByIds(aws, stateIds.filter((id) => !tagged.some((i) => i.InstanceId === id)));
  const instances = [...tagged, ...untagged];
  const live = instances.filter((i) => stateOf(i) !== 'terminated');

  if (!ctx.dry && spotIds.length > 0) await aws.ec2.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: spotIds }));
  spotIds.forEach((id) => say(`spot request ${id} (${aws.region})`));

  if (!ctx.dry && live.length > 0) {
    ctx.progress.note(`terminating ${live.length} instance(s) in ${aws.region}`);
    await aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds(live) }));
    await waitFor(aws, instanceIds(live), 'terminated', delay);
  }
  for (const i of live) {
    const name = hostByInstanceId(state, i.InstanceId)?.name;
    say(`instance ${i.InstanceId} (${name ?? 'not in state'}, ${i.InstanceType}, ${aws.region})`);
  }

  const images = (
    await aws.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [projectFilter(project)] }))
  ).Images ?? [];
  const imageSnapshots = new Set(
    images.flatMap((img) => (img.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []))),
  );
  for (const img of images) {
    if (!ctx.dry) await aws.ec2.send(new DeregisterImageCommand({ ImageId: img.ImageId }));
    say(`image ${img.ImageId} (${img.Name})`);
  }

  const taggedSnapshots = (
    await aws.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [projectFilter(project)] }))
  ).Snapshots ?? [];
  for (const id of new Set([...imageSnapshots, ...taggedSnapshots.map((s) => s.SnapshotId!)])) {
    if (!ctx.dry) await aws.ec2.send(new DeleteSnapshotCommand({ SnapshotId: id }));
    say(`snapshot ${id}`);
  }

  // Root volumes go with their instances; what is left here was detached or kept on purpose.
  const volumes = (
    await aws.ec2.send(new DescribeVolumesCommand({ Filters: [projectFilter(project), { Name: 'status', Values: ['available'] }] }))
  ).Volumes ?? [];
  // Data volumes (pcc volume create) outlive destroy; pcc volume rm removes them.
  for (const v of volumes.filter((x) => tagValue(x.Tags, TAG_VOLUME) === undefined)) {
    if (!ctx.dry) await aws.ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId }));
    say(`volume ${v.VolumeId} (${v.Size} GiB)`);
  }

  const groups = (await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [projectFilter(project)] }))).SecurityGroups ?? [];
  for (const g of groups) {
    if (!ctx.dry) await deleteGroup(aws, g.GroupId!, delay);
    say(`security group ${g.GroupId} (${g.GroupName})`);
  }

  const keys = (await aws.ec2.send(new DescribeKeyPairsCommand({ Filters: [projectFilter(project)] }))).KeyPairs ?? [];
  for (const k of keys) {
    if (!ctx.dry) await aws.ec2.send(new DeleteKeyPairCommand({ KeyName: k.KeyName }));
    say(`key pair ${k.KeyName}`);
  }
  return removed;
}

/** Instances the state names but the tag filter missed (tags removed by hand): by id filter, which ignores unknown ids. */
async function describeByIds(aws: AwsClients, ids: readonly string[]): Promise<Instance[]> {
  if (ids.length === 0) return [];
  const out = await aws.ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'instance-id', Values: [...ids] },
        { Name: 'instance-state-name', Values: LIVE_STATES },
      ],
    }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

/** A terminated instance's network interface can hold the group for a little while after the waiter returns. */
async function deleteGroup(aws: AwsClients, groupId: string, delay: { min: number; max: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
      return;
    } catch (err) {
      if ((err as Error).name !== 'DependencyViolation' || attempt >= 12) throw err;
      await new Promise((r) => setTimeout(r, delay.min * 1000));
    }
  }
}

/** `release`: terminate some instances (waited for) and drop their records; the project's shared resources stay. */
export async function terminateInstances(
  aws: AwsClients,
  ids: readonly string[],
  ctx: ProviderContext,
  delay: { min: number; max: number },
): Promise<string[]> {
  const state = await ctx.state.read();
  const live = (await projectInstances(aws, ctx.project)).filter((i) => ids.includes(i.InstanceId!));
  const lines = live.map((i) => `instance ${i.InstanceId} (${hostByInstanceId(state, i.InstanceId)?.name ?? 'not in state'}, ${i.InstanceType}, ${aws.region})`);
  if (ctx.dry) return lines;
  const spot = live.flatMap((i) => (i.SpotInstanceRequestId ? [i.SpotInstanceRequestId] : []));
  // A persistent spot request would launch a replacement.
  if (spot.length > 0) await aws.ec2.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: spot }));
  if (live.length > 0) {
    await aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds(live) }));
    await waitFor(aws, instanceIds(live), 'terminated', delay);
  }
  await ctx.state.update((s) => {
    for (const [name, h] of Object.entries(s.hosts)) if (h.provider === 'ec2' && h.providerId && ids.includes(h.providerId)) delete s.hosts[name];
  });
  return [...spot.map((id) => `spot request ${id} (${aws.region})`), ...lines];
}
