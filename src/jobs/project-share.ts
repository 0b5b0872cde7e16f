import { PROJECT_MOUNT } from '../core/project.js';
import { PROJECT_LABEL } from '../swarm/labels.js';
import type { SwarmNode } from './swarm-view.js';

/**
 * A job whose command names `/project`, placed where some host's `/project`
 * is a folder of its own (no NFS client there; setup labels it): what those
 * tasks write stays on that host. Said before the job is submitted, since
 * the job itself runs on without pcc.
 */
export function unsharedProjectWarning(command: readonly string[], nodes: readonly SwarmNode[]): string | undefined {
  if (!command.some((word) => word.includes(PROJECT_MOUNT))) return undefined;
  const own = nodes.filter((n) => n.labels[PROJECT_LABEL] === 'own').map((n) => n.host).sort();
  if (own.length === 0) return undefined;
  return `${own.join(', ')}: ${PROJECT_MOUNT} there is not the project folder (setup could not mount it), so what tasks write there stays on ${own.length === 1 ? 'that host' : 'those hosts'}; see pcc setup's warning, or place the job elsewhere with --on`;
}
