import { siteOf } from '../network/reach.js';
import type { HostRecord } from '../state/schema.js';

/** CPU features worth placing work by; each becomes `pcc.cpu.<flag>=true`. */
export const LABELLED_CPU_FLAGS = ['avx2', 'avx512f'] as const;

/** What setup learned about a host that its node labels carry. */
export interface NodeFacts {
  gpu: boolean;
  cpuFlags: readonly string[];
  /** Highest CUDA version the host's driver supports, e.g. `12.4`. */
  cuda?: string;
  /** Whether the host's `/project` is the project folder (the share, or a local host's bind); absent on the controller. */
  projectShared?: boolean;
}

/** The highest CUDA the host's driver supports (nvidia-smi's header): `pcc job run --gpus` checks an image's CUDA against it. */
export const CUDA_LABEL = 'pcc.cuda';

/** `pcc.project=own` marks a host whose `/project` is a folder of its own: `pcc job run` warns before work writes there. */
export const PROJECT_LABEL = 'pcc.project';

/**
 * The swarm labels of one host, from its record and what setup read on it,
 * so that work can be placed with pcc's own patterns: a host, its kind, its
 * provider, its site, its instance type, its CPU features.
 */
export function nodeLabels(host: HostRecord, facts: NodeFacts, controller: boolean): Record<string, string> {
  const labels: Record<string, string> = {
    'pcc.host': host.name,
    'pcc.kind': controller ? 'controller' : facts.gpu ? 'gpu' : 'cpu',
    'pcc.provider': host.provider,
    'pcc.site': siteOf(host),
  };
  const type = host.instanceType;
  if (type) labels['pcc.instance-type'] = type;
  for (const flag of LABELLED_CPU_FLAGS) if (facts.cpuFlags.includes(flag)) labels[`pcc.cpu.${flag}`] = 'true';
  if (facts.cuda) labels[CUDA_LABEL] = facts.cuda;
  if (facts.projectShared !== undefined) labels[PROJECT_LABEL] = facts.projectShared ? 'shared' : 'own';
  return labels;
}
