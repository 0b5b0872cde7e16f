import { naturalCompare } from '../core/natural-order.js';
import { SYSTEM, type Operation } from '../ops/operation.js';
import { cmd, type Command } from '../remote/shell.js';
import { swarmMembership, swarmNetwork, swarmNodes, type SwarmNode } from './facts.js';

/**
 * Docker Swarm mode as idempotent operations. Every swarm port (2377 control,
 * 7946 gossip, 4789 VXLAN) is bound to the node's overlay address, so swarm
 * traffic travels inside WireGuard and nothing listens on a public address.
 */
export const MANAGER_PORT = 2377;

/** `--advertise-addr`, `--listen-addr` and `--data-path-addr` all on one overlay address. */
export function addressFlags(address: string): string[] {
  return ['--advertise-addr', address, '--listen-addr', `${address}:${MANAGER_PORT}`, '--data-path-addr', address];
}

export function swarmInitArgv(address: string, pool: string): string[] {
  return ['docker', 'swarm', 'init', ...addressFlags(address), '--default-addr-pool', pool, '--default-addr-pool-mask-length', '24'];
}

/**
 * The join command, with the token on stdin: argv shows up in progress
 * lines, diffs and `ps`, stdin in none of them.
 */
export function swarmJoinCommand(address: string, manager: string, token: string): Command {
  const flags = [...addressFlags(address), `${manager}:${MANAGER_PORT}`].join(' ');
  return { argv: ['sh', '-c', `read -r token && docker swarm join --token "$token" ${flags}`], stdin: `${token}\n` };
}

/** The controller manages the swarm; it is made once and never left (leaving would lose every service). */
export function swarmManager(address: string, pool: string): Operation {
  return {
    name: `swarm manager on ${address}`,
    facts: [swarmMembership],
    touches: [SYSTEM],
    plan(read) {
      const m = read(swarmMembership);
      if (m.state === 'active' && m.manager && m.nodeAddress === address) return undefined;
      if (m.state === 'active') {
        throw new Error(
          `docker here is already in a swarm as ${m.manager ? 'a manager' : 'a worker'} on ${m.nodeAddress}; run docker swarm leave --force on the controller, then pcc setup again`,
        );
      }
      return { summary: `docker swarm init on ${address}`, commands: [cmd(...swarmInitArgv(address, pool))] };
    },
  };
}

/**
 * A compute host joins the controller's swarm, on its overlay address. A host
 * in another swarm, or on an old address (a re-made overlay), leaves first.
 */
export function swarmWorker(address: string, manager: string, token: string | undefined): Operation {
  return {
    name: `swarm worker of ${manager}`,
    facts: [swarmMembership],
    touches: [SYSTEM],
    plan(read) {
      const m = read(swarmMembership);
      const joined = m.state === 'active' && m.nodeAddress === address && m.managers.includes(`${manager}:${MANAGER_PORT}`);
      if (joined) return undefined;
      if (token === undefined) throw new Error('no swarm join token: the controller has no swarm yet; run pcc init again');
      const leave = m.state === 'inactive' || m.state === 'missing' ? [] : [cmd('docker', 'swarm', 'leave', '--force')];
      return { summary: `docker swarm join ${manager}`, commands: [...leave, swarmJoinCommand(address, manager, token)] };
    },
  };
}

/** The attachable overlay network that containers on every host join by name. */
export function swarmOverlayNetwork(name: string, mtu: number): Operation {
  const network = swarmNetwork(name);
  const create = cmd('docker', 'network', 'create', '--driver', 'overlay', '--attachable', '--opt', `com.docker.network.driver.mtu=${mtu}`, name);
  return {
    name: `swarm network ${name}`,
    facts: [network],
    touches: [SYSTEM],
    plan(read) {
      const n = read(network);
      if (n.exists && n.driver === 'overlay' && n.attachable && n.mtu === String(mtu)) return undefined;
      if (!n.exists) return { summary: `create (mtu ${mtu})`, commands: [create] };
      return { summary: `re-create (was ${n.driver}, attachable ${n.attachable}, mtu ${n.mtu || 'default'})`, commands: [cmd('docker', 'network', 'rm', name), create] };
    },
  };
}

/** The labels pcc owns on a node; any other label is the user's and stays. */
export const LABEL_PREFIX = 'pcc.';

/**
 * Labels on the manager, node by node (found by overlay address): pcc's
 * labels made exactly `wanted`, and nodes that left (down, or a stale copy
 * of a node that re-joined on the same address) removed, so that their tasks
 * are not left "running" on a node that is gone.
 */
export function swarmNodeLabels(wanted: Readonly<Record<string, Readonly<Record<string, string>>>>): Operation {
  return {
    name: 'swarm node labels',
    facts: [swarmNodes],
    touches: [SYSTEM],
    plan(read) {
      const nodes = read(swarmNodes);
      const commands = [...staleNodes(nodes).map((n) => cmd('docker', 'node', 'rm', '--force', n.id)), ...labelCommands(nodes, wanted)];
      if (commands.length === 0) return undefined;
      return { summary: `${commands.length} node update(s)`, commands };
    },
  };
}

/** Down nodes whose address another, live node now has: the old identity of a host that joined again. */
export function staleNodes(nodes: readonly SwarmNode[]): SwarmNode[] {
  const live = new Set(nodes.filter((n) => n.state === 'ready').map((n) => n.address));
  return nodes.filter((n) => n.state === 'down' && live.has(n.address));
}

export function labelCommands(nodes: readonly SwarmNode[], wanted: Readonly<Record<string, Readonly<Record<string, string>>>>): Command[] {
  const commands: Command[] = [];
  for (const [address, labels] of Object.entries(wanted).sort(([a], [b]) => naturalCompare(a, b))) {
    const node = nodes.find((n) => n.address === address && n.state === 'ready');
    if (!node) continue;
    const add = Object.entries(labels)
      .filter(([k, v]) => node.labels[k] !== v)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([k, v]) => ['--label-add', `${k}=${v}`]);
    const rm = Object.keys(node.labels)
      .filter((k) => k.startsWith(LABEL_PREFIX) && !(k in labels))
      .sort()
      .flatMap((k) => ['--label-rm', k]);
    if (add.length + rm.length > 0) commands.push(cmd('docker', 'node', 'update', ...add, ...rm, node.id));
  }
  return commands;
}
