import { createHash } from 'node:crypto';
import path from 'node:path';
import { OperationRefusedError, UserInputError } from '../core/errors.js';
import { loadProvider } from '../providers/index.js';
import { VOLUME_PROVIDERS } from '../providers/registry.js';
import type { Provider, ProviderContext } from '../providers/types.js';
import type { HostRecord, State, VolumeRecord } from '../state/schema.js';
import type { HostVolume } from './cluster.js';

/**
 * Data volumes that outlive hosts, the same for every provider: the state
 * holds one record per volume (`state.volumes`), and a provider does the
 * primitive steps (`createVolume`, `deleteVolume`, `attachVolume`). A volume
 * attaches to one host at a time; `pcc destroy` and `pcc release` never
 * remove one, they only end its attachment.
 */

export const DEFAULT_MOUNT_POINT = '/data';
const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** `NAME[:/mount/point]`, as `--volume` takes it. */
export function parseVolumeFlag(value: string): { name: string; mountPoint: string } {
  const at = value.indexOf(':');
  const name = at < 0 ? value : value.slice(0, at);
  const mountPoint = at < 0 ? DEFAULT_MOUNT_POINT : value.slice(at + 1);
  if (!NAME.test(name)) throw new UserInputError(`--volume ${value}: '${name}' is not a volume name; write NAME[:/mount/point], e.g. --volume data:/data`);
  if (!path.isAbsolute(mountPoint) || path.normalize(mountPoint) !== mountPoint || mountPoint === '/' || /[\s:,]/.test(mountPoint)) {
    throw new UserInputError(`--volume ${value}: the mount point '${mountPoint}' must be an absolute path without spaces, ':' or ',', e.g. /data`);
  }
  return { name, mountPoint };
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new UserInputError(`volume name '${name}': use lower-case letters, digits and '-', at most 40, e.g. data`);
}

async function volumeProvider(name: string): Promise<Provider & Required<Pick<Provider, 'createVolume' | 'deleteVolume' | 'attachVolume'>>> {
  const provider = await loadProvider(name);
  if (!provider.createVolume || !provider.deleteVolume || !provider.attachVolume) {
    throw new UserInputError(`the ${name} provider has no volumes; use --provider ${VOLUME_PROVIDERS.join(', ')}`);
  }
  return provider as never;
}

/** The host a volume is attached to, if that host still exists. */
export function attachedHost(state: State, v: VolumeRecord): HostRecord | undefined {
  return v.attachedTo === undefined ? undefined : state.hosts[v.attachedTo];
}

export async function createVolume(name: string, options: { sizeGiB: number; provider: string }, ctx: ProviderContext): Promise<VolumeRecord> {
  checkName(name);
  if (!Number.isInteger(options.sizeGiB) || options.sizeGiB < 1 || options.sizeGiB > 16384) {
    throw new UserInputError(`--size ${options.sizeGiB}: give whole GiB from 1 to 16384, e.g. --size 100`);
  }
  const existing = (await ctx.state.read()).volumes[name];
  if (existing) throw new UserInputError(`volume ${name} exists already (${existing.provider}, ${existing.sizeGiB} GiB); pick another name or pcc volume rm ${name}`);
  const provider = await volumeProvider(options.provider);
  const record: VolumeRecord = { name, provider: provider.name, sizeGiB: options.sizeGiB, createdAt: new Date().toISOString() };
  if (ctx.dry) {
    ctx.progress.note(`would create volume ${name} (${provider.name}, ${options.sizeGiB} GiB)`);
    return record;
  }
  const made = { ...record, ...(await provider.createVolume(record, ctx)) };
  await ctx.state.update((state) => {
    state.volumes[name] = made;
  });
  return made;
}

export interface VolumeRow extends VolumeRecord {
  usdPerMonth: number;
}

export async function listVolumes(ctx: ProviderContext, provider?: string): Promise<VolumeRow[]> {
  const state = await ctx.state.read();
  const rows: VolumeRow[] = [];
  for (const v of Object.values(state.volumes).sort((a, b) => a.name.localeCompare(b.name))) {
    if (provider !== undefined && v.provider !== provider) continue;
    const p = await loadProvider(v.provider);
    const host = attachedHost(state, v);
    rows.push({ ...v, attachedTo: host?.name, mountPoint: host ? v.mountPoint : undefined, usdPerMonth: p.volumeUsdPerMonth?.(v.sizeGiB) ?? 0 });
  }
  return rows;
}

/** Refuses a volume that is attached to a host, naming it. */
export async function removeVolume(name: string, ctx: ProviderContext): Promise<string[]> {
  const state = await ctx.state.read();
  const v = state.volumes[name];
  if (!v) throw new UserInputError(`no volume ${name}; see pcc volume ls`);
  const host = attachedHost(state, v);
  if (host) throw new OperationRefusedError(`volume ${name} is attached to ${host.name} (at ${v.mountPoint}); pcc release ${host.name} first`);
  const provider = await volumeProvider(v.provider);
  if (ctx.dry) return [`would remove volume ${name} (${v.provider}, ${v.sizeGiB} GiB) and everything on it`];
  const removed = await provider.deleteVolume(v, ctx);
  await ctx.state.update((s) => {
    delete s.volumes[name];
  });
  return removed;
}

/** Before an acquire with `--volume`: the volume exists, is the provider's, and no host holds it. */
export async function checkVolumeForAcquire(providerName: string, request: { name: string }, ctx: ProviderContext): Promise<VolumeRecord> {
  const state = await ctx.state.read();
  const v = state.volumes[request.name];
  if (!v) throw new UserInputError(`--volume ${request.name}: no such volume; pcc volume create ${request.name} --size GiB --provider ${providerName} first`);
  if (v.provider !== providerName) throw new UserInputError(`--volume ${request.name} is a ${v.provider} volume; acquire ${v.provider} hosts for it`);
  const host = attachedHost(state, v);
  if (host) throw new OperationRefusedError(`--volume ${request.name} is attached to ${host.name}; pcc release ${host.name} first (a volume attaches to one host)`);
  await volumeProvider(providerName);
  return v;
}

/** Records the attachment, then has the provider make it so on the running host; undone if that fails. */
export async function attachAtAcquire(volume: { name: string; mountPoint: string }, host: HostRecord, ctx: ProviderContext): Promise<VolumeRecord> {
  const provider = await volumeProvider(host.provider);
  const attached = await ctx.state.update((state) => {
    const v = state.volumes[volume.name]!;
    state.volumes[volume.name] = { ...v, attachedTo: host.name, mountPoint: volume.mountPoint };
    return state.volumes[volume.name]!;
  });
  ctx.progress.host(host.name, `attaching volume ${volume.name} at ${volume.mountPoint}`);
  try {
    await provider.attachVolume(attached, host, ctx);
  } catch (err) {
    await ctx.state.update((state) => {
      const v = state.volumes[volume.name];
      if (v) state.volumes[volume.name] = { ...v, attachedTo: undefined, mountPoint: undefined };
    });
    throw err;
  }
  ctx.progress.host(host.name, `volume ${volume.name} at ${volume.mountPoint}`, 'ok');
  return attached;
}

/** After hosts went (release, destroy): their volumes are attached to nothing. */
export function detachFrom(state: State, hostNames: readonly string[]): void {
  for (const [name, v] of Object.entries(state.volumes)) {
    if (v.attachedTo !== undefined && hostNames.includes(v.attachedTo)) state.volumes[name] = { ...v, attachedTo: undefined, mountPoint: undefined };
  }
}

/** One line per volume a destroy left, with what it costs while it stays. */
export async function remainingVolumeLines(providerName: string, ctx: ProviderContext): Promise<string[]> {
  const rows = await listVolumes(ctx, providerName);
  return rows.map((r) => `volume ${r.name} remains (${r.sizeGiB} GiB, ${r.usdPerMonth > 0 ? `~$${r.usdPerMonth.toFixed(2)}/month` : 'no charge'}); pcc volume rm ${r.name} removes it`);
}

/**
 * The attached volumes setup makes usable on their hosts: those whose
 * provider says how they show up as a disk (EC2). A local volume is a bind
 * its provider sets up at boot, so it is not here. Only providers with an
 * attached volume are loaded (EC2's loads the AWS SDK).
 */
export async function hostVolumes(state: State): Promise<HostVolume[]> {
  const out: HostVolume[] = [];
  for (const v of Object.values(state.volumes).sort((a, b) => a.name.localeCompare(b.name))) {
    const host = attachedHost(state, v);
    if (!host || !v.providerId) continue;
    const device = (await loadProvider(v.provider)).volumeDevice?.(v);
    if (!device) continue;
    out.push({ host: host.name, name: v.name, mountPoint: v.mountPoint ?? DEFAULT_MOUNT_POINT, device, label: volumeLabel(v.name), uuid: volumeUuid(v.providerId) });
  }
  return out;
}

/** ext4 labels hold 16 bytes: `pcc-` and as much of the name as fits (names are ASCII). */
export function volumeLabel(name: string): string {
  return `pcc-${name}`.slice(0, 16);
}

/**
 * The filesystem UUID pcc gives a volume it formats: a name-based UUID
 * (version 5, RFC 9562, in the URL namespace) of the provider's volume id.
 * Chosen before formatting, so the mount unit written in the same run names
 * it; unique per volume, and the same on every host it moves to.
 */
export function volumeUuid(providerId: string): string {
  const URL_NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');
  const b = createHash('sha1').update(URL_NAMESPACE).update(`urn:pcc:volume:${providerId}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
