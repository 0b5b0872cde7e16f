import type { Instance } from '@aws-sdk/client-ec2';
import type { ProviderContext } from '../types.js';
import type { HostRecord, State } from '../../state/schema.js';
import { stateOf } from './instances.js';
import { tagValue, TAG_TYPE, TAG_USER } from './tags.js';

/** What pcc keeps about EC2 besides hosts: the regions it has touched, so destroy sweeps them all. */
export interface Ec2Bookkeeping {
  regions: string[];
}

export function bookkeeping(state: State): Ec2Bookkeeping {
  const raw = state.providers.ec2 as Partial<Ec2Bookkeeping> | undefined;
  return { regions: Array.isArray(raw?.regions) ? raw.regions.filter((r) => typeof r === 'string') : [] };
}

/** Written before anything is created in a region, so that a crash cannot hide the region from destroy. */
export async function rememberRegion(ctx: ProviderContext, region: string): Promise<void> {
  const known = bookkeeping(await ctx.state.read()).regions;
  if (known.includes(region)) return;
  await ctx.state.update((state) => {
    const book = bookkeeping(state);
    if (!book.regions.includes(region)) book.regions.push(region);
    state.providers.ec2 = { ...book };
  });
}

/** Every region to look in: the configured one and every one pcc has used for this project. */
export async function knownRegions(ctx: ProviderContext): Promise<string[]> {
  const state = await ctx.state.read();
  const regions = new Set([ctx.settings.values.EC2_REGION, ...bookkeeping(state).regions]);
  for (const h of Object.values(state.hosts)) if (h.provider === 'ec2' && h.region) regions.add(h.region);
  return [...regions];
}

export function ec2Hosts(state: State): HostRecord[] {
  return Object.values(state.hosts).filter((h) => h.provider === 'ec2');
}

export function hostByInstanceId(state: State, id: string | undefined): HostRecord | undefined {
  return Object.values(state.hosts).find((h) => h.provider === 'ec2' && h.providerId === id);
}

/**
 * Adds or refreshes one host per instance, under the state lock. New hosts
 * get the first free `gpuN` / `cpuN` name, so that aliases read `ec2-gpu1`
 * and `gpu-gpu1`; a known instance keeps its name and creation time.
 */
export async function recordInstances(
  ctx: ProviderContext,
  region: string,
  instances: readonly Instance[],
  privateKey: string | undefined | ((inst: Instance) => string | undefined),
): Promise<HostRecord[]> {
  const keyOf = typeof privateKey === 'function' ? privateKey : () => privateKey;
  if (instances.length === 0) return [];
  const ordered = [...instances].sort(
    (a, b) =>
      (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0) ||
      (a.AmiLaunchIndex ?? 0) - (b.AmiLaunchIndex ?? 0) ||
      (a.InstanceId ?? '').localeCompare(b.InstanceId ?? ''),
  );
  return ctx.state.update((state) =>
    ordered.map((inst) => {
      const known = hostByInstanceId(state, inst.InstanceId);
      const type = tagValue(inst.Tags, TAG_TYPE) === 'gpu' ? 'gpu' : 'cpu';
      const name = known?.name ?? nextFreeName(state, type);
      const record: HostRecord = {
        name,
        address: inst.PublicIpAddress ?? inst.PrivateIpAddress ?? known?.address ?? inst.InstanceId!,
        port: 22,
        user: tagValue(inst.Tags, TAG_USER) ?? known?.user ?? 'core',
        ...(keyOf(inst) ?? known?.key ? { key: keyOf(inst) ?? known?.key } : {}),
        provider: 'ec2',
        groups: ['ec2', type, inst.InstanceType ?? 'unknown'],
        providerId: inst.InstanceId!,
        status: stateOf(inst),
        createdAt: known?.createdAt ?? (inst.LaunchTime ?? new Date()).toISOString(),
        ...(known?.overlayAddress ? { overlayAddress: known.overlayAddress } : {}),
        // Hosts of one region reach each other privately (which the security group's self-reference
        // lets through); every other site dials the public address.
        site: `ec2:${region}`,
        dialable: inst.PublicIpAddress !== undefined,
        ...(inst.PrivateIpAddress ? { siteAddress: inst.PrivateIpAddress } : {}),
        region,
        instanceType: inst.InstanceType ?? 'unknown',
        ...(known?.hostKey ? { hostKey: known.hostKey } : {}),
        ...(known?.overlayPublicKey ? { overlayPublicKey: known.overlayPublicKey } : {}),
        meta: {
          ...known?.meta,
          spot: String(inst.InstanceLifecycle === 'spot'),
          launchedAt: (inst.LaunchTime ?? new Date()).toISOString(),
          ami: inst.ImageId ?? '',
          ...(inst.Placement?.AvailabilityZone ? { zone: inst.Placement.AvailabilityZone } : {}),
        },
      };
      state.hosts[name] = record;
      return record;
    }),
  );
}

/** Marks known hosts with a new status and, after `save --snapshot`, the AMI made from each. */
export async function setStatus(
  ctx: ProviderContext,
  ids: readonly string[],
  status: string,
  images: Readonly<Record<string, string>> = {},
): Promise<HostRecord[]> {
  return ctx.state.update((state) =>
    ids.flatMap((id) => {
      const host = hostByInstanceId(state, id);
      if (!host) return [];
      host.status = status;
      const image = images[id];
      if (image) host.meta = { ...host.meta, image };
      return [host];
    }),
  );
}

export function nextFreeName(state: State, prefix: string): string {
  for (let n = 1; ; n++) {
    const name = `${prefix}${n}`;
    if (!state.hosts[name]) return name;
  }
}
