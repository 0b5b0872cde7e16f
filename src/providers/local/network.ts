import { existsSync } from 'node:fs';
import { PccError } from '../../core/errors.js';
import { ipToInt, lowestFree, nthAddress, parseSubnet as parseIpv4Subnet, type Subnet } from '../../network/ipv4.js';

/**
 * The hosts' network: one bridge in the root namespace holding the subnet's
 * first address, and per host a netns whose `host0` end of a veth pair sits
 * on that bridge. No default route, no NAT, ip_forward untouched: hosts reach
 * each other and this machine, nothing else.
 */
export type { Subnet } from '../../network/ipv4.js';

export function parseSubnet(cidr: string, where = 'LOCAL_SUBNET'): Subnet {
  return parseIpv4Subnet(cidr, where);
}

/** The bridge's own address: the subnet's first. */
export function gatewayAddress(subnet: Subnet): string {
  return nthAddress(subnet, 1);
}

/** The lowest free host address (from .2), or an error naming the setting. */
export function allocateAddress(subnet: Subnet, used: Iterable<string>): string {
  return lowestFree(subnet, used, 2, 'LOCAL_SUBNET');
}

/**
 * A fixed, locally administered MAC per address: a re-created host with a
 * random MAC leaves stale ARP entries on its peers, and pulls time out.
 * `side` 0 is the host's `host0` (and the bridge), 1 the root-namespace end.
 */
export function macFor(ip: string, side: 0 | 1): string {
  const n = ipToInt(ip);
  const bytes = [2, side, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

const hex = (ip: string) => ipToInt(ip).toString(16).padStart(8, '0');

/**
 * Every local resource name carries the project id, so that two projects on
 * one machine never touch each other's hosts (interface names: 15 characters
 * at most, so the id's first 10 or 8 digits).
 */
export function bridgeName(projectId: string, configured?: string): string {
  const name = configured ?? `pcc-${projectId.slice(0, 10)}`;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    throw new PccError(`LOCAL_BRIDGE=${name} is not a valid interface name; use at most 15 letters, digits, '-', '_' or '.'`);
  }
  return name;
}

/** Names the netns, the nspawn machine, its root mount and its cgroups. */
export function netnsName(projectId: string, host: string): string {
  return `pcc-${projectId}-${host}`;
}

/** The root-namespace end of a host's veth: the project id's first 8 digits and the address's last 16 bits. */
export function vethName(projectId: string, ip: string): string {
  return `v${projectId.slice(0, 8)}${hex(ip).slice(4)}`;
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

export function createBridgeArgvs(bridge: string, subnet: Subnet): string[][] {
  const gw = gatewayAddress(subnet);
  return [
    ['ip', 'link', 'add', 'name', bridge, 'address', macFor(gw, 0), 'type', 'bridge'],
    ['ip', 'addr', 'add', `${gw}/${subnet.prefix}`, 'dev', bridge],
    ['ip', 'link', 'set', bridge, 'up'],
  ];
}

export function deleteBridgeArgv(bridge: string): string[] {
  return ['ip', 'link', 'del', bridge];
}

export interface HostNetwork {
  netns: string;
  veth: string;
  address: string;
  prefix: number;
  bridge: string;
  /**
   * The controller is the overlay hub and forwards between its peers. That is
   * set here, in the host's own namespace, because nspawn keeps /proc/sys
   * read-only inside; the machine's own ip_forward is never touched.
   */
  forward?: boolean;
}

export function createHostNetworkArgvs(h: HostNetwork): string[][] {
  return [
    ['ip', 'netns', 'add', h.netns],
    ['ip', 'link', 'add', h.veth, 'address', macFor(h.address, 1), 'type', 'veth',
      'peer', 'name', 'host0', 'address', macFor(h.address, 0), 'netns', h.netns],
    ['ip', 'link', 'set', h.veth, 'master', h.bridge, 'up'],
    ['ip', '-n', h.netns, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', h.netns, 'addr', 'add', `${h.address}/${h.prefix}`, 'dev', 'host0'],
    ['ip', '-n', h.netns, 'link', 'set', 'host0', 'up'],
    ...(h.forward ? [['ip', 'netns', 'exec', h.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']] : []),
  ];
}

/** Deleting the netns deletes host0 and with it the veth pair; the second is for a half-made host. */
export function deleteHostNetworkArgvs(h: Pick<HostNetwork, 'netns' | 'veth'>): string[][] {
  return [
    ['ip', 'netns', 'del', h.netns],
    ['ip', 'link', 'del', h.veth],
  ];
}
