import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../core/errors.js';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Project } from '../core/project.js';
import { lowestFree, nthAddress, parseSubnet } from '../network/ipv4.js';
import type { OverlayNode } from '../network/overlay.js';
import { isDialable, siteAddressOf, siteOf } from '../network/reach.js';
import { generateWireguardKeys } from '../network/wireguard.js';
import type { ProviderContext } from '../providers/types.js';
import { settingWhere } from '../settings/where.js';
import type { HostRecord, State } from '../state/schema.js';
import { CONTROLLER } from './cluster.js';

/** Private keys never leave `.pcc/overlay/` (0600) except inside the host's own 0600 config. */
function keyFile(project: Project, host: string): string {
  return path.join(project.stateDir, 'overlay', `${host}.key`);
}

export function controllerOf(state: State): HostRecord {
  const c = state.hosts[CONTROLLER];
  if (!c) throw new PccError('no controller yet; run pcc init first (or pcc up for everything at once)');
  return c;
}

/**
 * Gives the controller and these hosts an overlay address and a key pair,
 * once: later runs find them in the state and `.pcc/overlay/`.
 */
export async function enrollOverlay(ctx: ProviderContext, names: readonly string[]): Promise<void> {
  const where = settingWhere(ctx.settings, 'OVERLAY_SUBNET');
  const subnet = parseSubnet(ctx.settings.values.OVERLAY_SUBNET, where);
  const hub = nthAddress(subnet, 1);
  await ctx.state.update(async (state) => {
    const controller = controllerOf(state);
    for (const name of [CONTROLLER, ...names.filter((n) => n !== CONTROLLER)]) {
      const host = state.hosts[name];
      if (!host) continue;
      if (!host.overlayAddress) {
        host.overlayAddress = name === CONTROLLER ? hub : lowestFree(subnet, overlayAddresses(state), 2, where);
      }
      const file = keyFile(ctx.project, name);
      if (!host.overlayPublicKey || (await readIfExists(file)) === undefined) {
        const keys = generateWireguardKeys();
        await writeOwnedFile(file, `${keys.privateKey}\n`, { mode: 0o600 });
        host.overlayPublicKey = keys.publicKey;
      }
    }
    if (controller.overlayAddress !== hub) {
      throw new PccError(`${where} changed to ${subnet.cidr} after init; change it back, or pcc destroy and init again`);
    }
  });
}

function overlayAddresses(state: State): string[] {
  return Object.values(state.hosts).flatMap((h) => (h.overlayAddress ? [h.overlayAddress] : []));
}

/** A host as a member of the mesh: its overlay address, keys, and where others dial it (see network/mesh.ts). */
export async function overlayNode(project: Project, host: HostRecord, port: number): Promise<OverlayNode> {
  if (!host.overlayAddress || !host.overlayPublicKey) throw new PccError(`${host.name} is not on the overlay yet; run pcc setup ${host.name}`);
  const privateKey = (await readFile(keyFile(project, host.name), 'utf8')).trim();
  return {
    name: host.name,
    address: host.overlayAddress,
    publicKey: host.overlayPublicKey,
    privateKey,
    site: siteOf(host),
    siteEndpoint: `${siteAddressOf(host)}:${port}`,
    ...(isDialable(host) ? { publicEndpoint: `${host.address}:${port}` } : {}),
  };
}

export async function forgetOverlayKey(project: Project, host: string): Promise<void> {
  const { rm } = await import('node:fs/promises');
  await rm(keyFile(project, host), { force: true });
}
