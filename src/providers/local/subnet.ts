import { PccError } from '../../core/errors.js';
import { contains, intToIp, ipToInt, maskOf, parseSubnet, type Subnet } from '../../network/ipv4.js';
import { run } from './exec.js';

/**
 * Which subnet a project's local hosts get. A project keeps the subnet it
 * has; a new one takes LOCAL_SUBNET when the user set it, else the default
 * or, when another project (or anything else on this machine) holds an
 * address in that, the next free /24 after it. A bridge holds its subnet's
 * first address, so a project's bridge is its claim; the caller picks and
 * makes the bridge under one machine-wide lock, so two new projects at once
 * never pick the same one.
 */
export interface InterfaceAddress {
  dev: string;
  address: string;
  prefix: number;
}

/** `ip -4 -o addr show`: `2: eth0    inet 10.0.2.15/24 brd ... scope global eth0 ...`. */
export function parseAddresses(text: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (m) out.push({ dev: m[1]!, address: m[2]!, prefix: Number(m[3]) });
  }
  return out;
}

/** Interfaces other than `ownBridge` whose network overlaps `subnet`. */
export function subnetHolders(subnet: Subnet, addresses: readonly InterfaceAddress[], ownBridge: string): string[] {
  return addresses
    // `dev` may carry a note (`pcc-x (route)`): the interface is its first word.
    .filter((a) => a.dev.split(' ')[0] !== ownBridge && a.dev !== 'lo')
    .filter((a) => {
      const theirs: Subnet = { cidr: '', network: (ipToInt(a.address) & maskOf(a.prefix)) >>> 0, prefix: a.prefix };
      return contains(subnet, a.address) || contains(theirs, intToIp(subnet.network));
    })
    .map((a) => `${a.dev} (${a.address}/${a.prefix})`);
}

/** The default and the next 99 subnets of its size after it: the candidates for a new project. */
export function candidateSubnets(first: Subnet, count = 100): Subnet[] {
  const size = 2 ** (32 - first.prefix);
  const out: Subnet[] = [];
  for (let k = 0; k < count && first.network + k * size < 2 ** 32; k++) {
    const network = first.network + k * size;
    out.push(parseSubnet(`${intToIp(network)}/${first.prefix}`, 'LOCAL_SUBNET'));
  }
  return out;
}

export interface SubnetChoice {
  /** What the project's state already records, if it has local hosts. */
  recorded?: string;
  /** LOCAL_SUBNET's value. */
  configured: string;
  /** Where the setting was made (a file, the environment); undefined means the default. */
  origin?: string;
  /** The setting's name, for messages. */
  setting?: string;
  ownBridge: string;
  addresses: readonly InterfaceAddress[];
}

/** Pure: the subnet to use, or a one-line error naming LOCAL_SUBNET's file. */
export function chooseSubnet(c: SubnetChoice): { subnet: Subnet; picked: boolean } {
  const setting = c.setting ?? 'LOCAL_SUBNET';
  const where = c.origin ? `${c.origin}: ${setting}` : setting;
  const configured = parseSubnet(c.configured, where);
  if (c.recorded !== undefined) {
    if (c.origin !== undefined && c.recorded !== configured.cidr) {
      throw new PccError(`${where} is ${configured.cidr} but the local hosts use ${c.recorded}; set it back, or pcc destroy local first`);
    }
    const subnet = parseSubnet(c.recorded, `${setting} recorded in .pcc/state.json`);
    // Only an address is a claim on a subnet the project already has; a route another run added since is its own mistake.
    const holders = subnetHolders(subnet, c.addresses.filter((a) => !a.dev.endsWith('(route)')), c.ownBridge);
    if (holders.length > 0) {
      throw new PccError(
        `local: this project's subnet ${subnet.cidr} is now used by ${holders.join(', ')} (another project took it while these hosts were down); pcc destroy local and acquire again, or free that subnet`,
      );
    }
    return { subnet, picked: false };
  }
  if (c.origin !== undefined) {
    const holders = subnetHolders(configured, c.addresses, c.ownBridge);
    if (holders.length > 0) {
      throw new PccError(`${where}=${configured.cidr} is already used on this machine by ${holders.join(', ')}; choose another, or remove the setting to let pcc pick a free one`);
    }
    return { subnet: configured, picked: false };
  }
  for (const candidate of candidateSubnets(configured)) {
    if (subnetHolders(candidate, c.addresses, c.ownBridge).length === 0) return { subnet: candidate, picked: candidate.cidr !== configured.cidr };
  }
  throw new PccError(`local: no free subnet among the 100 after ${configured.cidr}; set ${setting} in config/local.env`);
}

/** `ip -4 route show`: `10.212.0.0/24 via 10.213.0.254 dev pcc-0123456789`: a routed subnet is as taken as an address. */
export function parseRoutes(text: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)\s.*\bdev\s+(\S+)/.exec(line);
    if (m) out.push({ dev: `${m[3]} (route)`, address: m[1]!, prefix: Number(m[2]) });
  }
  return out;
}

/** This machine's addresses and routed subnets; a project's own bridge is told apart by its name. */
export async function rootAddresses(): Promise<InterfaceAddress[]> {
  const [addrs, routes] = await Promise.all([run(['ip', '-4', '-o', 'addr', 'show']), run(['ip', '-4', 'route', 'show'])]);
  return [...parseAddresses(addrs), ...parseRoutes(routes)];
}
