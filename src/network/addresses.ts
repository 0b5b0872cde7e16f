import { PccError } from '../core/errors.js';

/** An IPv4 subnet as pcc uses it: the controller takes .1, hosts the rest. */
export interface Subnet4 {
  cidr: string;
  base: number;
  prefix: number;
}

export function parseSubnet4(cidr: string, key: string): Subnet4 {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix < 8 || prefix > 30) {
    throw new PccError(`${key}=${cidr} is not an IPv4 subnet from /8 to /30; write e.g. 10.214.0.0/24`);
  }
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { cidr, base: ip - (ip % size), prefix };
}

export function hostAddress(subnet: Subnet4, index: number): string {
  const size = 2 ** (32 - subnet.prefix);
  if (index < 1 || index >= size - 1) throw new PccError(`subnet ${subnet.cidr} has no room for host number ${index}; choose a larger subnet`);
  const ip = subnet.base + index;
  return [24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join('.');
}

/** The lowest free host number (the controller has 1). */
export function nextFreeIndex(subnet: Subnet4, taken: Iterable<string>): number {
  const used = new Set(taken);
  for (let i = 2; ; i++) {
    const a = hostAddress(subnet, i);
    if (!used.has(a)) return i;
  }
}
