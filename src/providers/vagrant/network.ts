import { PccError } from '../../core/errors.js';
import { intToIp, ipToInt } from '../../network/ipv4.js';
import type { Settings } from '../../settings/load.js';

/**
 * The private (VirtualBox host-only) network the Vagrant machines share. The
 * host's own adapter takes the subnet's first address, the controller sits at
 * VAGRANT_CONTROLLER_IP, and compute machines take the next free addresses
 * after it.
 */
export interface VagrantNetwork {
  controllerIp: string;
  netmask: string;
  /** Usable machine addresses in allocation order (controller first). */
  candidates(): Generator<string>;
}

export function vagrantNetwork(settings: Settings): VagrantNetwork {
  const { VAGRANT_SUBNET: subnet, VAGRANT_CONTROLLER_IP: controllerIp } = settings.values;
  const where = (key: string) => settings.origin[key] ?? 'config/vagrant.env';
  const [base, bitsText] = subnet.split('/') as [string, string];
  const bits = Number(bitsText);
  const baseInt = ipToInt(base);
  if (Number.isNaN(baseInt) || bits < 8 || bits > 29) {
    throw new PccError(`${where('VAGRANT_SUBNET')}: VAGRANT_SUBNET=${subnet} is not a usable IPv4 subnet; use a /8 to /29 such as 192.168.56.0/24`);
  }
  const mask = (0xffffffff << (32 - bits)) >>> 0;
  const network = (baseInt & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  const hostAdapter = network + 1;

  const controller = ipToInt(controllerIp);
  if (Number.isNaN(controller) || (controller & mask) >>> 0 !== network) {
    throw new PccError(
      `${where('VAGRANT_CONTROLLER_IP')}: VAGRANT_CONTROLLER_IP=${controllerIp} is not inside VAGRANT_SUBNET=${subnet}; pick an address in that subnet, e.g. ${intToIp(network + 10)}`,
    );
  }
  if (controller === hostAdapter || controller === broadcast || controller === network) {
    throw new PccError(
      `${where('VAGRANT_CONTROLLER_IP')}: VAGRANT_CONTROLLER_IP=${controllerIp} is reserved (network, broadcast, or the host's own adapter); use e.g. ${intToIp(network + 10)}`,
    );
  }

  return {
    controllerIp,
    netmask: intToIp(mask),
    *candidates() {
      yield controllerIp;
      for (let a = controller + 1; a < broadcast; a++) yield intToIp(a);
      for (let a = hostAdapter + 1; a < controller; a++) yield intToIp(a);
    },
  };
}

/** The first `count` candidates not already taken, skipping the controller's address. */
export function allocateAddresses(net: VagrantNetwork, taken: ReadonlySet<string>, count: number): string[] {
  const out: string[] = [];
  for (const ip of net.candidates()) {
    if (out.length === count) break;
    if (ip === net.controllerIp || taken.has(ip)) continue;
    out.push(ip);
  }
  if (out.length < count) {
    throw new PccError(`VAGRANT_SUBNET has no room for ${count} more machines; use a larger subnet in config/vagrant.env`);
  }
  return out;
}
