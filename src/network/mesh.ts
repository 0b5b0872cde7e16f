import { PccError } from '../core/errors.js';
import { naturalCompare } from '../core/natural-order.js';

/**
 * The overlay's shape, as a pure function of who can dial whom. WireGuard
 * needs one side of each pair to know where the other is; a host behind NAT
 * can dial out but cannot be dialled, so:
 *
 * - two hosts talk directly when either can dial the other: the other is on
 *   the same site (same LAN or VPC, by its site address), or has an address
 *   every site can reach (an EC2 public IP);
 * - the side that dials a host which cannot dial back keeps the NAT mapping
 *   open with a keepalive;
 * - everything else (two hosts behind different NATs) relays through the hub,
 *   whose entry on every host covers the whole overlay subnet: WireGuard
 *   routes by longest prefix, so direct peers' /32s win and the hub carries
 *   the rest, including hosts that joined after this host's config was made.
 */
export interface MeshMember {
  name: string;
  /** Address on the overlay. */
  address: string;
  publicKey: string;
  site: string;
  /** host:port for members of the same site. */
  siteEndpoint?: string;
  /** host:port for members of any site, when the member can be dialled from everywhere. */
  publicEndpoint?: string;
}

export interface MeshPeer {
  name: string;
  publicKey: string;
  /** Where to send the first handshake; absent when the peer dials us. */
  endpoint?: string;
  allowedIps: string[];
  /** Seconds between keepalives, when only our side can open the path. */
  keepalive?: number;
}

export const KEEPALIVE_SECONDS = 25;

/** Where `from` dials `to`, if it can. */
export function endpointFor(from: MeshMember, to: MeshMember): string | undefined {
  if (from.site === to.site && to.siteEndpoint) return to.siteEndpoint;
  return to.publicEndpoint;
}

export function linkedDirectly(a: MeshMember, b: MeshMember): boolean {
  return endpointFor(a, b) !== undefined || endpointFor(b, a) !== undefined;
}

/**
 * The peers of `self` in a mesh whose hub is `hub` (the controller): every
 * member it can link with directly, and the hub for the rest of `subnet`.
 * Sorted by overlay address, so the rendered config is stable.
 */
export function meshPeers(self: MeshMember, hub: MeshMember, members: readonly MeshMember[], subnet: string): MeshPeer[] {
  const others = [hub, ...members].filter((m, i, all) => m.name !== self.name && all.findIndex((x) => x.name === m.name) === i);
  const peers: MeshPeer[] = [];
  for (const other of others) {
    const isHub = other.name === hub.name;
    if (!isHub && !linkedDirectly(self, other)) continue;
    if (isHub && !linkedDirectly(self, other)) {
      throw new PccError(
        `${self.name} (site ${self.site}) and the controller ${hub.name} (site ${hub.site}) cannot reach each other: both are behind NAT; put the controller where ${self.name} can reach it`,
      );
    }
    const endpoint = endpointFor(self, other);
    const dialledBack = endpointFor(other, self) !== undefined;
    peers.push({
      name: other.name,
      publicKey: other.publicKey,
      ...(endpoint ? { endpoint } : {}),
      allowedIps: [self.name !== hub.name && isHub ? subnet : `${other.address}/32`],
      ...(endpoint && !dialledBack ? { keepalive: KEEPALIVE_SECONDS } : {}),
    });
  }
  return peers.sort((a, b) => byAddress(others, a.name, b.name));
}

function byAddress(members: readonly MeshMember[], a: string, b: string): number {
  const addr = (n: string) => members.find((m) => m.name === n)!.address;
  return naturalCompare(addr(a), addr(b));
}
