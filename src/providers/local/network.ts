import { existsSync } from 'node:fs';
import { PccError } from '../../core/errors.js';
import { intToIp, ipToInt, lowestFree, nthAddress, parseSubnet as parseIpv4Subnet, type Subnet } from '../../network/ipv4.js';

/** Where a local host sits: at home behind the NAT router, or on the simulated internet. */
export type LocalSite = 'home' | 'cloud';
export const LOCAL_SITES: readonly LocalSite[] = ['home', 'cloud'];

/**
 * The hosts' network, a small internet on one machine (see `Sites` below):
 * per host a netns whose `host0` end of a veth pair sits on its site's
 * bridge. Forwarding and NAT happen only inside namespaces pcc made; this
 * machine's own ip_forward and firewall are never touched.
 */
export type { Subnet } from '../../network/ipv4.js';

/** `where` names the setting and its file (settingWhere). */
export function parseSubnet(cidr: string, where = 'LOCAL_SUBNET'): Subnet {
  return parseIpv4Subnet(cidr, where);
}

/** The bridge's own address: the subnet's first. */
export function gatewayAddress(subnet: Subnet): string {
  return nthAddress(subnet, 1);
}

/** The lowest free host address (from .2, the router's kept free), or an error naming the setting and its file. */
export function allocateAddress(subnet: Subnet, used: Iterable<string>, where = 'LOCAL_SUBNET'): string {
  return lowestFree(subnet, [...used, routerHomeAddress(subnet)], 2, where);
}

/** The home NAT router's address on the home segment: the subnet's last, so hosts count up from .2. */
export function routerHomeAddress(home: Subnet): string {
  return nthAddress(home, 2 ** (32 - home.prefix) - 2);
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

/**
 * The root-namespace end of a host's veth: the project id's first 6 digits and
 * the whole address. Part of an address is not enough: the default home
 * (10.213.0.0/24) and cloud (10.212.0.0/24) subnets share their last 16 bits,
 * and a cloud host would take the controller's link. Recorded per machine, so
 * hosts made under an older scheme keep their names.
 */
export function vethName(projectId: string, ip: string): string {
  return `v${projectId.slice(0, 6)}${hex(ip)}`;
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
  /** Home hosts reach the internet (the cloud segment) through the NAT router; cloud hosts have no way home. */
  gateway?: string;
}

/**
 * Every host forwards inside its own namespace: the controller relays the
 * overlay between peers, and containers on swarm's `pcc` network reach the
 * registry through their host. Set from outside, because nspawn keeps
 * /proc/sys read-only inside.
 */
export function createHostNetworkArgvs(h: HostNetwork): string[][] {
  return [
    ['ip', 'netns', 'add', h.netns],
    ['ip', 'link', 'add', h.veth, 'address', macFor(h.address, 1), 'type', 'veth',
      'peer', 'name', 'host0', 'address', macFor(h.address, 0), 'netns', h.netns],
    ['ip', 'link', 'set', h.veth, 'master', h.bridge, 'up'],
    ['ip', '-n', h.netns, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', h.netns, 'addr', 'add', `${h.address}/${h.prefix}`, 'dev', 'host0'],
    ['ip', '-n', h.netns, 'link', 'set', 'host0', 'up'],
    ...(h.gateway ? [['ip', '-n', h.netns, 'route', 'add', 'default', 'via', h.gateway]] : []),
    ['ip', 'netns', 'exec', h.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'],
  ];
}

/**
 * Two segments and a router, as a laptop at home sees the internet:
 *
 * - **home**: the bridge in this machine's namespace (which plays the laptop,
 *   holding the first address) with the controller and home hosts on it;
 * - **cloud**: a second bridge with no address of this machine's on it: the
 *   "public" addresses of cloud hosts;
 * - the **router**: a namespace on both, which masquerades home traffic out
 *   to the cloud and lets back only replies. A cloud host has no route home
 *   and the router drops anything new from the cloud, so no cloud host can
 *   open a connection into the home segment, exactly as on the internet.
 *
 * This machine reaches cloud hosts the way a laptop does: through the router,
 * with a route for the cloud subnet alone.
 */
export interface Sites {
  home: Subnet;
  homeBridge: string;
  cloud: Subnet;
  cloudBridge: string;
  /** The router's namespace. */
  router: string;
}

export function routerName(projectId: string): string {
  return `pcc-${projectId}-router`;
}

/** The cloud segment's bridge (no address of its own in this namespace). */
export function cloudBridgeName(projectId: string): string {
  return `pcl-${projectId.slice(0, 10)}`;
}

/** The root-namespace ends of the router's two veths, named by the project id in the router's name. */
export function routerVeths(router: string): { home: string; cloud: string } {
  const h = (/^pcc-([0-9a-f]{10})/.exec(router)?.[1] ?? router.replace(/[^0-9a-z]/g, '')).slice(0, 10);
  return { home: `vr${h}h`, cloud: `vr${h}c` };
}

/** The router's address on the cloud segment: the home's one "public" address, which every home connection comes from. */
export function routerCloudAddress(cloud: Subnet): string {
  return nthAddress(cloud, 1);
}

export function createCloudBridgeArgvs(bridge: string, cloud: Subnet): string[][] {
  return [
    ['ip', 'link', 'add', 'name', bridge, 'address', macFor(intToIp(cloud.network), 0), 'type', 'bridge'],
    ['ip', 'link', 'set', bridge, 'up'],
  ];
}

export function createRouterArgvs(s: Sites): string[][] {
  const r = s.router;
  const veth = routerVeths(s.router);
  const homeAddr = routerHomeAddress(s.home);
  const cloudAddr = routerCloudAddress(s.cloud);
  const inRouter = (...argv: string[]) => ['ip', 'netns', 'exec', r, ...argv];
  return [
    ['ip', 'netns', 'add', r],
    ['ip', 'link', 'add', veth.home, 'address', macFor(homeAddr, 1), 'type', 'veth', 'peer', 'name', 'home', 'address', macFor(homeAddr, 0), 'netns', r],
    ['ip', 'link', 'set', veth.home, 'master', s.homeBridge, 'up'],
    ['ip', 'link', 'add', veth.cloud, 'address', macFor(cloudAddr, 1), 'type', 'veth', 'peer', 'name', 'cloud', 'address', macFor(cloudAddr, 0), 'netns', r],
    ['ip', 'link', 'set', veth.cloud, 'master', s.cloudBridge, 'up'],
    ['ip', '-n', r, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', r, 'addr', 'add', `${homeAddr}/${s.home.prefix}`, 'dev', 'home'],
    ['ip', '-n', r, 'link', 'set', 'home', 'up'],
    ['ip', '-n', r, 'addr', 'add', `${cloudAddr}/${s.cloud.prefix}`, 'dev', 'cloud'],
    ['ip', '-n', r, 'link', 'set', 'cloud', 'up'],
    inRouter('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'),
    inRouter('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', s.home.cidr, '-o', 'cloud', '-j', 'MASQUERADE'),
    inRouter('iptables', '-A', 'FORWARD', '-i', 'cloud', '-o', 'home', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'),
    inRouter('iptables', '-A', 'FORWARD', '-i', 'cloud', '-o', 'home', '-j', 'DROP'),
    // This machine, the laptop, reaches the cloud through its router.
    ['ip', 'route', 'replace', s.cloud.cidr, 'via', homeAddr, 'dev', s.homeBridge],
  ];
}

/** Deleting the router's namespace takes its veths with it, and the home bridge's going takes the route. */
export function deleteRouterArgvs(s: Pick<Sites, 'router'>): string[][] {
  const veth = routerVeths(s.router);
  return [
    ['ip', 'netns', 'del', s.router],
    ['ip', 'link', 'del', veth.home],
    ['ip', 'link', 'del', veth.cloud],
  ];
}

/** Deleting the netns deletes host0 and with it the veth pair; the second is for a half-made host. */
export function deleteHostNetworkArgvs(h: Pick<HostNetwork, 'netns' | 'veth'>): string[][] {
  return [
    ['ip', 'netns', 'del', h.netns],
    ['ip', 'link', 'del', h.veth],
  ];
}
