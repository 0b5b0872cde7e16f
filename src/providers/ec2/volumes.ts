import {
  AttachVolumeCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInstancesCommand,
  waitUntilVolumeAvailable,
  waitUntilVolumeInUse,
} from '@aws-sdk/client-ec2';
import { PccError } from '../../core/errors.js';
import type { HostRecord, VolumeRecord } from '../../state/schema.js';
import type { ProviderContext } from '../types.js';
import type { AwsClients } from './clients.js';
import { rememberRegion } from './record.js';
import { projectTags, tagList, tagSpecs, TAG_MOUNT, TAG_ROLE, TAG_VOLUME } from './tags.js';
import { VOLUME_DEVICE } from './volume-device.js';


/**
 * An encrypted gp3 EBS volume in the region's first available zone, tagged
 * with the project id (so adopt and the sweep know it) and `pcc:volume` (so
 * destroy's sweep leaves it). A host it attaches to is launched in that zone.
 */
export async function createEbsVolume(aws: AwsClients, v: VolumeRecord, ctx: ProviderContext, delay: { min: number; max: number }): Promise<Partial<VolumeRecord>> {
  await rememberRegion(ctx, aws.region);
  const zones = (await aws.ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'state', Values: ['available'] }] }))).AvailabilityZones ?? [];
  const zone = zones.map((z) => z.ZoneName!).sort()[0];
  if (!zone) throw new PccError(`ec2: no available zone in ${aws.region}; pick another EC2_REGION`);
  const tags = { Name: `pcc-${ctx.project.name}-${v.name}`, ...projectTags(ctx.project), [TAG_ROLE]: 'volume', [TAG_VOLUME]: v.name };
  const made = await aws.ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: zone,
      Size: v.sizeGiB,
      VolumeType: 'gp3',
      Encrypted: true,
      TagSpecifications: tagSpecs(['volume'], tags),
      ClientToken: `pcc-${ctx.project.id}-${v.name}-${v.createdAt}`.slice(0, 64),
    }),
  );
  const id = made.VolumeId!;
  await waitUntilVolumeAvailable({ client: aws.ec2, maxWaitTime: 300, minDelay: delay.min, maxDelay: delay.max }, { VolumeIds: [id] });
  ctx.progress.note(`ec2: volume ${v.name} is ${id} (${v.sizeGiB} GiB gp3, encrypted, ${zone})`);
  return { providerId: id, region: aws.region, zone };
}

export async function deleteEbsVolume(aws: AwsClients, v: VolumeRecord): Promise<string[]> {
  if (!v.providerId) return [];
  await aws.ec2.send(new DeleteVolumeCommand({ VolumeId: v.providerId }));
  return [`volume ${v.name} (${v.providerId}, ${v.sizeGiB} GiB, ${aws.region})`];
}

/** AttachVolume to a host in the volume's zone, waited until in use. Mounting it is the host's part (setup), not the provider's. */
export async function attachEbsVolume(aws: AwsClients, v: VolumeRecord, host: HostRecord, delay: { min: number; max: number }): Promise<void> {
  if (!v.providerId || !host.providerId) throw new PccError(`ec2: volume ${v.name} or host ${host.name} has no AWS id; see pcc volume ls and pcc status`);
  const instance = (await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [host.providerId] }))).Reservations?.[0]?.Instances?.[0];
  const zone = instance?.Placement?.AvailabilityZone;
  if (zone !== v.zone) throw new PccError(`ec2: ${host.name} runs in ${zone ?? 'an unknown zone'}, volume ${v.name} lives in ${v.zone}; an EBS volume attaches only in its own zone`);
  await aws.ec2.send(new CreateTagsCommand({ Resources: [v.providerId], Tags: tagList({ [TAG_MOUNT]: v.mountPoint ?? '/data' }) }));
  await aws.ec2.send(new AttachVolumeCommand({ VolumeId: v.providerId, InstanceId: host.providerId, Device: VOLUME_DEVICE }));
  await waitUntilVolumeInUse({ client: aws.ec2, maxWaitTime: 300, minDelay: delay.min, maxDelay: delay.max }, { VolumeIds: [v.providerId] });
}
