import { PccError } from '../core/errors.js';

/**
 * IPv4 arithmetic shared by every place pcc hands out addresses. By hand, not
 * ipaddr.js or ip-address: they parse forms a setting must refuse (`10.1`,
 * octal, hex) and have no n-th or lowest-free address, so they would add a
 * check and a conversion around the same integer math.
 */
export interface Subnet {
  cidr: string;
  /** The network address as an integer. */
  network: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return NaN;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function maskOf(prefix: number): number {
  return (0xffffffff << (32 - prefix)) >>> 0;
}

/** `where` names the setting (and its file) in the one-line error. */
export function parseSubnet(cidr: string, where: string, maxPrefix = 30): Subnet {
  const [ip, bits] = cidr.split('/');
  const prefix = Number(bits);
  const network = ipToInt(ip ?? '');
  if (!Number.isInteger(prefix) || prefix < 8 || prefix > maxPrefix || Number.isNaN(network)) {
    throw new PccError(`${where}=${cidr} is invalid: expected an IPv4 CIDR from /8 to /${maxPrefix} such as 10.213.0.0/24`);
  }
  const mask = maskOf(prefix);
  if ((network & mask) >>> 0 !== network) {
    throw new PccError(`${where}=${cidr} has host bits set; use ${intToIp((network & mask) >>> 0)}/${prefix}`);
  }
  return { cidr, network, prefix };
}

/** The subnet's n-th address (1 is the first usable one). */
export function nthAddress(subnet: Subnet, n: number): string {
  if (n < 1 || n >= 2 ** (32 - subnet.prefix) - 1) {
    throw new PccError(`${subnet.cidr} has no room for address number ${n}; choose a larger subnet`);
  }
  return intToIp(subnet.network + n);
}

export function contains(subnet: Subnet, ip: string): boolean {
  const n = ipToInt(ip);
  return !Number.isNaN(n) && (n & maskOf(subnet.prefix)) >>> 0 === subnet.network;
}

/** The lowest free address from the `from`-th on, or an error naming the setting. */
export function lowestFree(subnet: Subnet, used: Iterable<string>, from: number, where: string): string {
  const taken = new Set(used);
  const last = 2 ** (32 - subnet.prefix) - 2;
  for (let n = from; n <= last; n++) {
    const ip = intToIp(subnet.network + n);
    if (!taken.has(ip)) return ip;
  }
  throw new PccError(`${where}=${subnet.cidr} has no free address left; destroy hosts or choose a larger subnet`);
}
