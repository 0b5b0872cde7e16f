import { PccError } from '../core/errors.js';
import { CONTROLLER, CONTROLLER_GROUP } from '../fleet/cluster.js';
import { parsePattern, selectHosts } from '../inventory/pattern.js';
import { quote } from '../remote/shell.js';
import type { HostRecord } from '../state/schema.js';
import type { SwarmNode } from './swarm-view.js';

/**
 * `--on PATTERN` as swarm placement constraints on the node labels the
 * manager sets (pcc.host, pcc.kind, pcc.provider, pcc.instance-type). A
 * pattern that is one label term, intersected (`&`) with or excluding (`!`)
 * others, becomes those label constraints, so a gpu host that joins later
 * gets work too. Swarm has no "or", so any other pattern (a union, a glob, a
 * user group) pins the hosts it matches now: one `pcc.host!=` per other node.
 * Either way the result is checked against the nodes' real labels.
 */
export interface Placement {
  constraints: string[];
  /** The swarm nodes that may run the tasks now. */
  nodes: SwarmNode[];
}

const KINDS = new Set(['cpu', 'gpu']);

export function placementFor(pattern: string | undefined, hosts: readonly HostRecord[], nodes: readonly SwarmNode[]): Placement {
  // Never on the controller unless the pattern names it (or its group).
  const asked = pattern ?? 'all';
  const namesController = pattern !== undefined && parsePattern(pattern).some((t) => t.op !== 'exclude' && (t.name === CONTROLLER || t.name === CONTROLLER_GROUP));
  const selected = new Set(selectHosts(asked, hosts).map((h) => h.name).filter((n) => n !== CONTROLLER || namesController));
  const usable = nodes.filter((n) => selected.has(n.host));
  if (usable.length === 0) {
    const which = [...selected].sort().join(', ') || 'only the controller';
    throw new PccError(`--on ${asked}: matches ${which}, but none of them is in the swarm; run pcc setup ${quote(pattern ?? 'all')} first`);
  }
  const byLabels = labelConstraints(asked, hosts, namesController);
  if (byLabels && sameNodes(matching(byLabels, nodes), usable)) return { constraints: byLabels, nodes: usable };
  const pinned =
    usable.length === 1
      ? [`node.labels.pcc.host==${usable[0]!.host}`]
      : nodes.filter((n) => !selected.has(n.host)).map((n) => `node.labels.pcc.host!=${n.host}`).sort();
  return { constraints: pinned, nodes: usable };
}

function labelConstraints(pattern: string, hosts: readonly HostRecord[], namesController: boolean): string[] | undefined {
  const terms = parsePattern(pattern);
  if (terms.filter((t) => t.op === 'union').length > 1) return undefined;
  const out: string[] = [];
  for (const t of terms) {
    if (t.op === 'union' && t.name === 'all') continue;
    const label = labelOf(t.name, hosts);
    if (!label) return undefined;
    out.push(`node.labels.${label.key}${t.op === 'exclude' ? '!=' : '=='}${label.value}`);
  }
  if (!namesController) out.push('node.labels.pcc.kind!=controller');
  return out;
}

function labelOf(term: string, hosts: readonly HostRecord[]): { key: string; value: string } | undefined {
  if (term === CONTROLLER_GROUP) return { key: 'pcc.kind', value: 'controller' };
  if (KINDS.has(term)) return { key: 'pcc.kind', value: term };
  if (hosts.some((h) => h.name === term)) return { key: 'pcc.host', value: term };
  if (hosts.some((h) => h.provider === term)) return { key: 'pcc.provider', value: term };
  if (hosts.some((h) => h.instanceType === term)) return { key: 'pcc.instance-type', value: term };
  return undefined;
}

/** Swarm's own rule for `node.labels.K==V` and `!=` (a missing label is "not equal"). */
export function matching(constraints: readonly string[], nodes: readonly SwarmNode[]): SwarmNode[] {
  return nodes.filter((n) =>
    constraints.every((c) => {
      const m = /^node\.labels\.([^=!]+)(==|!=)(.*)$/.exec(c);
      if (!m) return true;
      const equal = n.labels[m[1]!] === m[3];
      return m[2] === '==' ? equal : !equal;
    }),
  );
}

function sameNodes(a: readonly SwarmNode[], b: readonly SwarmNode[]): boolean {
  const ids = (x: readonly SwarmNode[]) => x.map((n) => n.id).sort().join();
  return ids(a) === ids(b);
}

/**
 * `--gpus G` must fit on one node of the placement, or swarm would leave the
 * tasks pending forever; say what there is instead.
 */
export function checkGpus(gpus: number | undefined, placement: Placement, allNodes: readonly SwarmNode[]): void {
  if (!gpus) return;
  if (placement.nodes.some((n) => n.gpus.length >= gpus)) return;
  const withGpus = allNodes.filter((n) => n.gpus.length > 0);
  const there = placement.nodes.map((n) => `${n.host}: ${n.gpus.length}`).join(', ');
  if (withGpus.length === 0) {
    throw new PccError(`--gpus ${gpus}: no host in the swarm advertises a GPU; pcc acquire ec2 --type gpu, then pcc setup gpu`);
  }
  throw new PccError(`--gpus ${gpus}: no host where the job may run has ${gpus} GPU${gpus === 1 ? '' : 's'} (${there}); ask for fewer, or place it with --on gpu`);
}
