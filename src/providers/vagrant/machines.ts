import * as z from '../../core/zod.js';
import { PccError } from '../../core/errors.js';
import type { HostRecord, State } from '../../state/schema.js';
import { allocateAddresses, type VagrantNetwork } from './network.js';

/**
 * The provider's own bookkeeping in `state.providers.vagrant`: every machine
 * the Vagrantfile describes. A machine is written here before `vagrant up`
 * runs, so a crash mid-up leaves it in the Vagrantfile and destroy still
 * finds it; its host record appears only once it answers `vagrant ssh-config`.
 */
const machineSchema = z.object({
  name: z.string(),
  role: z.enum(['controller', 'compute']),
  type: z.enum(['cpu', 'gpu']),
  ip: z.string(),
});
export type Machine = z.infer<typeof machineSchema>;

const bookkeepingSchema = z.object({ machines: z._default(z.array(machineSchema), []) });

export { CONTROLLER_NAME } from '../../core/controller.js';
import { CONTROLLER_NAME } from '../../core/controller.js';
/**
 * Compute machines are `vagrant`, `vagrant2`, `vagrant3`, ... so that the
 * ssh aliases `<group>-<host>` give `cpu-vagrant` (or `gpu-vagrant`) for the
 * first one and `vagrant-<name>` for every one.
 */
export const COMPUTE_BASE_NAME = 'vagrant';

/** Vagrant's states in which a machine exists but is not running, so `vagrant up` resumes it. */
const RESUMABLE = new Set(['saved', 'poweroff', 'aborted', 'suspended', 'stopped']);

export function readMachines(state: State): Machine[] {
  const parsed = bookkeepingSchema.safeParse(state.providers.vagrant ?? {});
  if (!parsed.success) {
    throw new PccError('.pcc/state.json: providers.vagrant is malformed; run pcc destroy vagrant, or delete that entry');
  }
  return parsed.data.machines;
}

export function writeMachines(state: State, machines: Machine[]): void {
  if (machines.length === 0) delete state.providers.vagrant;
  else state.providers.vagrant = { machines };
}

export function controllerMachine(net: VagrantNetwork): Machine {
  return { name: CONTROLLER_NAME, role: 'controller', type: 'cpu', ip: net.controllerIp };
}

/** New compute machines, named and addressed around everything the state already holds. */
export function newComputeMachines(
  state: State,
  existing: readonly Machine[],
  net: VagrantNetwork,
  type: 'cpu' | 'gpu',
  count: number,
): Machine[] {
  if (!Number.isInteger(count) || count < 1) throw new PccError(`--count ${count}: give a whole number of machines, 1 or more`);
  const takenNames = new Set([...Object.keys(state.hosts), ...existing.map((m) => m.name)]);
  const names: string[] = [];
  for (let i = 1; names.length < count; i++) {
    const name = i === 1 ? COMPUTE_BASE_NAME : `${COMPUTE_BASE_NAME}${i}`;
    if (!takenNames.has(name)) names.push(name);
  }
  const ips = allocateAddresses(net, new Set(existing.map((m) => m.ip)), count);
  return names.map((name, i) => ({ name, role: 'compute', type, ip: ips[i]! }));
}

/**
 * Machines `vagrant up` should bring back: saved or halted ones, and ones
 * recorded before an up that never finished (no host record yet).
 */
export function resumableMachines(state: State, machines: readonly Machine[]): Machine[] {
  return machines.filter((m) => {
    const host = state.hosts[m.name];
    return host === undefined || RESUMABLE.has(host.status ?? '');
  });
}

/** The controller is not in group `vagrant`: a provider pattern means compute hosts (see inventory/groups.ts). */
export function hostGroupsFor(m: Machine): string[] {
  return m.role === 'controller' ? ['controller'] : ['vagrant', m.type];
}

/** Where the controller's folders live in the guest; setup reads these from the host record. */
export const CONTROLLER_MOUNTS = {
  /** Vagrant's NFS share of the project folder, the whole folder. */
  project: '/project',
  /** What the controller exports: the share without .pcc/ and config/, which setup builds once Vagrant has mounted it. */
  export: '/project-export',
  registry: '/var/lib/registry',
} as const;

export function isVagrantHost(h: HostRecord): boolean {
  return h.provider === 'vagrant';
}
