import { defineFact } from '../facts/fact.js';

/**
 * What a host's docker says about its own place in a swarm. `docker info`
 * answers the same on managers and workers; `missing` means no docker answered.
 */
export interface SwarmMembership {
  state: 'inactive' | 'pending' | 'active' | 'error' | 'locked' | 'missing';
  nodeId: string;
  /** The address the node advertises (its overlay address, when pcc joined it). */
  nodeAddress: string;
  manager: boolean;
  /** host:port of the managers a worker knows. */
  managers: string[];
}

const STATES = new Set(['inactive', 'pending', 'active', 'error', 'locked']);

export const swarmMembership = defineFact<SwarmMembership>({
  key: 'swarm-membership',
  script:
    "docker info --format '{{.Swarm.LocalNodeState}}|{{.Swarm.NodeID}}|{{.Swarm.NodeAddr}}|{{.Swarm.ControlAvailable}}|{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' 2>/dev/null || echo missing",
  parse: parseSwarmMembership,
});

export function parseSwarmMembership(out: string): SwarmMembership {
  const [state = '', nodeId = '', nodeAddress = '', control = '', managers = ''] = out.trim().split('|');
  return {
    state: (STATES.has(state) ? state : 'missing') as SwarmMembership['state'],
    nodeId,
    nodeAddress,
    manager: control === 'true',
    managers: managers.split(' ').filter(Boolean),
  };
}

/** One node as the manager lists it. */
export interface SwarmNode {
  id: string;
  /** `ready`, `down`, `unknown`, `disconnected`. */
  state: string;
  /** The node's advertised address (a manager's from its manager status: its own reads 0.0.0.0 on some versions). */
  address: string;
  labels: Record<string, string>;
}

/** Every node of the swarm, read on the manager; one line each. */
export const swarmNodes = defineFact<SwarmNode[]>({
  key: 'swarm-nodes',
  script:
    "docker node ls -q 2>/dev/null | xargs -r docker node inspect --format '{{.ID}}|{{.Status.State}}|{{.Status.Addr}}|{{if .ManagerStatus}}{{.ManagerStatus.Addr}}{{end}}|{{json .Spec.Labels}}' 2>/dev/null; true",
  parse: parseSwarmNodes,
});

export function parseSwarmNodes(out: string): SwarmNode[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = '', state = '', addr = '', managerAddr = '', ...json] = line.split('|');
      const address = addr && addr !== '0.0.0.0' ? addr : managerAddr.replace(/:\d+$/, '');
      const raw = json.join('|');
      const labels = raw && raw !== 'null' ? (JSON.parse(raw) as Record<string, string>) : {};
      return { id, state, address, labels };
    });
}

export interface SwarmNetwork {
  exists: boolean;
  driver: string;
  attachable: boolean;
  mtu: string;
}

/** How the named network looks on this node: the manager sees every swarm network. */
export function swarmNetwork(name: string) {
  return defineFact<SwarmNetwork>({
    key: `swarm-network:${name}`,
    script: `docker network inspect ${name} --format '{{.Driver}}|{{.Attachable}}|{{index .Options "com.docker.network.driver.mtu"}}' 2>/dev/null || echo missing`,
    parse(out) {
      const line = out.trim();
      if (line === 'missing' || line === '') return { exists: false, driver: '', attachable: false, mtu: '' };
      const [driver = '', attachable = '', mtu = ''] = line.split('|');
      return { exists: true, driver, attachable: attachable === 'true', mtu: mtu === '<no value>' ? '' : mtu };
    },
  });
}
