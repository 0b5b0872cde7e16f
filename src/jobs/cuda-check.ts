import { checkCudaCompatible, type CudaHost, type ImageCudaNeed } from '../gpu/cuda.js';
import { CUDA_LABEL } from '../swarm/labels.js';
import type { Placement } from './placement.js';
import type { SwarmNode } from './swarm-view.js';

/** `host:port/name@sha256:...` or `host:port/name[:tag]` as name and reference; undefined for an image of another registry. */
export function inRegistry(ref: string, registryHost: string): { name: string; reference: string } | undefined {
  if (!ref.startsWith(`${registryHost}/`)) return undefined;
  const rest = ref.slice(registryHost.length + 1);
  const at = rest.indexOf('@');
  if (at >= 0) return { name: rest.slice(0, at), reference: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(':');
  return colon > rest.lastIndexOf('/') ? { name: rest.slice(0, colon), reference: rest.slice(colon + 1) } : { name: rest, reference: 'latest' };
}

/** A node as the CUDA check sees it: its host and its `pcc.cuda` label, which setup sets from the driver's nvidia-smi header. */
export function cudaHostOf(node: SwarmNode): CudaHost {
  return { name: node.host, cuda: node.labels[CUDA_LABEL] };
}

export interface CudaPlacement {
  /** What the image needs, where it declares it. */
  need?: ImageCudaNeed;
  /** GPU hosts the job may not use: their driver runs an older CUDA than the image's (or an unknown one). */
  excluded: string[];
}

/**
 * `job run --gpus`: the hosts that could take a task (in the placement, with
 * enough GPUs) against the CUDA the image was built for. None that runs it:
 * refused with the numbers (checkCudaCompatible). Some: the others are
 * excluded, so swarm never starts a task where the driver cannot run it.
 */
export function cudaPlacement(gpus: number, placement: Placement, need: ImageCudaNeed | undefined): CudaPlacement {
  const candidates = placement.nodes.filter((n) => n.gpus.length >= gpus).map(cudaHostOf);
  const fit = new Set(checkCudaCompatible(need, candidates).map((h) => h.name));
  return { need, excluded: candidates.filter((h) => !fit.has(h.name)).map((h) => h.name).sort() };
}
