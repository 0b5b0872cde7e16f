import {
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  ModifyInstanceAttributeCommand,
  StopInstancesCommand,
  waitUntilImageAvailable,
  type Instance,
} from '@aws-sdk/client-ec2';
import { PccError } from '../../core/errors.js';
import type { HostRecord } from '../../state/schema.js';
import type { ProviderContext, SaveRequest } from '../types.js';
import type { AwsClients } from './clients.js';
import { instanceIds, projectInstances, stateOf, waitFor } from './instances.js';
import { hostByInstanceId, setStatus } from './record.js';
import { baseTags, tagList, tagSpecs, tagValue, TAG_ROLE, TAG_SOURCE } from './tags.js';

/**
 * Stop the given running instances of the project, keeping its EBS volumes, so
 * that `acquire` starts the same ids again. With `snapshot`, each stopped
 * instance is also imaged (CreateImage, one call per instance: AWS has no
 * batch form) and the AMI and its snapshots are tagged for the sweep. The
 * instances stay stopped rather than terminated: the AMIs are a backup to
 * launch from with `--ami`, never the only copy of a host.
 */
export async function save(
  aws: AwsClients,
  ids: readonly string[],
  request: SaveRequest,
  ctx: ProviderContext,
  delay: { min: number; max: number },
): Promise<HostRecord[]> {
  const live = (await projectInstances(aws, ctx.project)).filter((i) => stateOf(i) !== 'shutting-down' && ids.includes(i.InstanceId!));
  const toStop = live.filter((i) => ['pending', 'running'].includes(stateOf(i)));
  const all = instanceIds(live);
  if (ctx.dry) {
    ctx.progress.note(`would stop ${toStop.length} instance(s) in ${aws.region}${request.snapshot ? ' and image all of them' : ''}`);
    return [];
  }
  if (toStop.length > 0) {
    ctx.progress.note(`stopping ${toStop.length} instance(s) in ${aws.region}; their EBS volumes are kept`);
    await aws.ec2.send(new StopInstancesCommand({ InstanceIds: instanceIds(toStop) }));
  }
  await waitFor(aws, all, 'stopped', delay);
  const images = request.snapshot ? await imageAll(aws, ctx, live) : {};
  return setStatus(ctx, all, 'stopped', images);
}

async function imageAll(aws: AwsClients, ctx: ProviderContext, instances: readonly Instance[]): Promise<Record<string, string>> {
  if (instances.length === 0) return {};
  const state = await ctx.state.read();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const images: Record<string, string> = {};
  for (const inst of instances) {
    const id = inst.InstanceId!;
    const name = hostByInstanceId(state, id)?.name ?? id;
    const role = tagValue(inst.Tags, TAG_ROLE) === 'controller' ? 'controller' : 'compute';
    const out = await aws.ec2.send(
      new CreateImageCommand({
        InstanceId: id,
        Name: `pcc-${ctx.project.name}-${ctx.project.id}-${name}-${stamp}`,
        Description: `pcc save --snapshot of ${name} (${id})`,
        TagSpecifications: tagSpecs(['image'], { ...baseTags(ctx.project, role), [TAG_SOURCE]: id }),
      }),
    );
    images[id] = out.ImageId!;
    ctx.progress.host(name, `imaging to ${out.ImageId}`);
  }
  const imageIds = Object.values(images);
  try {
    await waitUntilImageAvailable({ client: aws.ec2, maxWaitTime: 3600, minDelay: 15, maxDelay: 60 }, { ImageIds: imageIds });
  } catch (err) {
    if ((err as { pccOperation?: string }).pccOperation) throw err;
    throw new PccError(`AMIs ${imageIds.join(', ')} did not become available within an hour; see the EC2 console, then pcc destroy ec2`);
  }
  // Snapshot tags at CreateImage are not accepted everywhere (moto refuses them), so tag them afterwards in one call.
  const described = await aws.ec2.send(new DescribeImagesCommand({ ImageIds: imageIds }));
  const snapshots = (described.Images ?? []).flatMap((img) =>
    (img.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])),
  );
  if (snapshots.length > 0) {
    await aws.ec2.send(new CreateTagsCommand({ Resources: snapshots, Tags: tagList(baseTags(ctx.project, 'compute')) }));
  }
  return images;
}

/**
 * What an OS shutdown (the autostop agent's `systemctl poweroff`) does to
 * the instances: `stop` keeps the disks, `terminate` removes them. One call
 * per instance: ModifyInstanceAttribute takes one.
 */
export async function setShutdownBehavior(aws: AwsClients, ids: readonly string[], behavior: 'stop' | 'terminate'): Promise<void> {
  for (const id of ids) {
    // The Attribute/Value form: AWS takes it for this attribute, and moto applies only this form.
    await aws.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceInitiatedShutdownBehavior', Value: behavior }));
  }
}
