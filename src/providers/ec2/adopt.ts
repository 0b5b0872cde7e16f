import { DescribeKeyPairsCommand, DescribeVolumesCommand, paginateDescribeInstances, paginateDescribeVolumes, type Instance } from '@aws-sdk/client-ec2';
import type { HostRecord } from '../../state/schema.js';
import type { Adopted, FoundProject, MissingLaunchKey, ProviderContext } from '../types.js';
import type { AwsClients } from './clients.js';
import { LIVE_STATES, projectFilter, tagValue, TAG_MOUNT, TAG_PATH, TAG_PROJECT, TAG_PROJECT_ID, TAG_VOLUME } from './tags.js';
import { stateOf } from './instances.js';
import { onDemandPrice } from './prices.js';
import { recordInstances, rememberRegion } from './record.js';
import { findLocalKey } from '../../core/key-fingerprint.js';

/** Volume states in which there is nothing left to adopt. */
const GONE_VOLUME = ['deleting', 'deleted', 'error'];

/** Every pcc instance in the region that carries a project id, whichever project it belongs to. */
async function taggedInstances(aws: AwsClients): Promise<Instance[]> {
  const out: Instance[] = [];
  const pages = paginateDescribeInstances(
    { client: aws.ec2, pageSize: 1000 },
    { Filters: [{ Name: 'tag-key', Values: [TAG_PROJECT_ID] }, { Name: 'instance-state-name', Values: LIVE_STATES }] },
  );
  for await (const page of pages) for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
  return out;
}

export async function findProjects(aws: AwsClients): Promise<FoundProject[]> {
  const byId = new Map<string, FoundProject>();
  for (const i of await taggedInstances(aws)) {
    const id = tagValue(i.Tags, TAG_PROJECT_ID)!;
    const p = byId.get(id) ?? { id, name: tagValue(i.Tags, TAG_PROJECT) ?? '?', path: tagValue(i.Tags, TAG_PATH) ?? '?', regions: [aws.region], hosts: 0, usdPerHour: 0, unpriced: [] as string[] };
    p.hosts += 1;
    if (['pending', 'running'].includes(stateOf(i))) {
      const price = onDemandPrice(i.InstanceType ?? '');
      if (price === undefined) p.unpriced = [...new Set([...p.unpriced, i.InstanceType ?? 'unknown'])].sort();
      else p.usdPerHour += price;
    }
    byId.set(id, p);
  }
  // A project whose hosts are gone may still keep data volumes: adopt brings their records back, so it is found too (with no hosts).
  const volumes = paginateDescribeVolumes({ client: aws.ec2 }, { Filters: [{ Name: 'tag-key', Values: [TAG_PROJECT_ID] }, { Name: 'tag-key', Values: [TAG_VOLUME] }] });
  for await (const page of volumes) {
    for (const v of page.Volumes ?? []) {
      const id = tagValue(v.Tags, TAG_PROJECT_ID)!;
      if (byId.has(id) || GONE_VOLUME.includes(v.State ?? '')) continue;
      byId.set(id, { id, name: tagValue(v.Tags, TAG_PROJECT) ?? '?', path: tagValue(v.Tags, TAG_PATH) ?? '?', regions: [aws.region], hosts: 0, usdPerHour: 0, unpriced: [] });
    }
  }
  return [...byId.values()];
}

/**
 * Rebuilds the state's EC2 hosts of `ctx.project.id` from their tags; names
 * follow the same rules as at launch. Each host keeps the local key whose
 * fingerprint matches its launch key pair's; no key is made, since the
 * instances would not take it.
 */
export async function adoptRegion(aws: AwsClients, ctx: ProviderContext): Promise<Adopted> {
  const mine = (await taggedInstances(aws)).filter((i) => tagValue(i.Tags, TAG_PROJECT_ID) === ctx.project.id && stateOf(i) !== 'shutting-down');
  if (mine.length > 0) await rememberRegion(ctx, aws.region);
  const launchKeys = await findLaunchKeys(aws, ctx, mine);
  // A launch key not found here: the host records the configured path, where the message tells the user to put it.
  const hosts = mine.length === 0 ? [] : await recordInstances(ctx, aws.region, mine, (i) => launchKeys.get(i.KeyName ?? '')?.privateKey ?? ctx.settings.values.PCC_SSH_KEY);
  if ((await adoptVolumes(aws, ctx, hosts)) > 0) await rememberRegion(ctx, aws.region);
  const missingKeys: MissingLaunchKey[] = [];
  for (const [keyName, found] of launchKeys) {
    if (found.privateKey !== undefined) continue;
    const ids = new Set(mine.filter((i) => i.KeyName === keyName).map((i) => i.InstanceId));
    missingKeys.push({ keyName, ...(found.fingerprint ? { fingerprint: found.fingerprint } : {}), hosts: hosts.filter((h) => ids.has(h.providerId)).map((h) => h.name) });
  }
  return { hosts, missingKeys };
}

/** Each launch key pair's name, its fingerprint as EC2 shows it, and the local key with that fingerprint (when one is here). */
async function findLaunchKeys(aws: AwsClients, ctx: ProviderContext, instances: readonly Instance[]): Promise<Map<string, { fingerprint?: string; privateKey?: string }>> {
  const out = new Map<string, { fingerprint?: string; privateKey?: string }>();
  const names = [...new Set(instances.map((i) => i.KeyName).filter((n): n is string => Boolean(n)))];
  if (names.length === 0) return out;
  // A filter, not KeyNames: a key pair deleted since the launch is then missing from the answer rather than an error.
  const pairs = (await aws.ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: names }] }))).KeyPairs ?? [];
  for (const name of names) {
    const fingerprint = pairs.find((p) => p.KeyName === name)?.KeyFingerprint;
    const local = fingerprint ? findLocalKey(fingerprint, ctx.project, ctx.settings) : undefined;
    out.set(name, { ...(fingerprint ? { fingerprint } : {}), ...(local ? { privateKey: local.privateKey } : {}) });
  }
  return out;
}

/** The project's data volumes (tagged pcc:volume) back into the state, attached to the adopted host that holds each. */
async function adoptVolumes(aws: AwsClients, ctx: ProviderContext, hosts: readonly HostRecord[]): Promise<number> {
  const found = (
    await aws.ec2.send(new DescribeVolumesCommand({ Filters: [projectFilter(ctx.project), { Name: 'tag-key', Values: [TAG_VOLUME] }] }))
  ).Volumes ?? [];
  const live = found.filter((v) => !GONE_VOLUME.includes(v.State ?? ''));
  if (live.length === 0) return 0;
  await ctx.state.update((state) => {
    for (const v of live) {
      const name = tagValue(v.Tags, TAG_VOLUME)!;
      const holder = hosts.find((h) => h.providerId !== undefined && v.Attachments?.some((a) => a.InstanceId === h.providerId));
      state.volumes[name] = {
        name,
        provider: 'ec2',
        sizeGiB: v.Size ?? 1,
        createdAt: (v.CreateTime ?? new Date()).toISOString(),
        providerId: v.VolumeId!,
        region: aws.region,
        ...(v.AvailabilityZone ? { zone: v.AvailabilityZone } : {}),
        ...(holder ? { attachedTo: holder.name, mountPoint: tagValue(v.Tags, TAG_MOUNT) ?? '/data' } : {}),
      };
    }
  });
  return live.length;
}
