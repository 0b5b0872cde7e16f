import { describe, expect, it } from 'vitest';
import { cudaPlacement, inRegistry } from '../../../src/jobs/cuda-check.js';
import type { SwarmNode } from '../../../src/jobs/swarm-view.js';

/** `job run --gpus`: which GPU hosts may take an image built for a CUDA, from their `pcc.cuda` labels. */
const node = (host: string, gpus: number, cuda?: string): SwarmNode => ({
  id: `id-${host}`,
  host,
  hostname: host,
  role: 'worker',
  state: 'ready',
  availability: 'active',
  labels: { 'pcc.host': host, 'pcc.kind': gpus ? 'gpu' : 'cpu', ...(cuda ? { 'pcc.cuda': cuda } : {}) },
  gpus: Array.from({ length: gpus }, (_, i) => `GPU-${host}-${i}`),
});
const placement = (...nodes: SwarmNode[]) => ({ constraints: [], nodes });
const cu = (cuda: string, from = `CUDA_VERSION=${cuda}.0`) => ({ cuda, from });

describe('the CUDA check of pcc job run --gpus', () => {
  it('reads name and reference of an image in the project registry, by digest or tag; other registries are not its business', () => {
    expect(inRegistry('10.214.0.1:5000/cuda13@sha256:abc', '10.214.0.1:5000')).toEqual({ name: 'cuda13', reference: 'sha256:abc' });
    expect(inRegistry('10.214.0.1:5000/team/train:v2', '10.214.0.1:5000')).toEqual({ name: 'team/train', reference: 'v2' });
    expect(inRegistry('10.214.0.1:5000/train', '10.214.0.1:5000')).toEqual({ name: 'train', reference: 'latest' });
    expect(inRegistry('docker.io/nvidia/cuda:12.4.1-base-ubuntu22.04', '10.214.0.1:5000')).toBeUndefined();
  });

  it('an image newer than every GPU host is refused with the numbers; CPU hosts and hosts with too few GPUs do not count', () => {
    const p = placement(node('gpu1', 1, '12.4'), node('gpu2', 1, '12.2'), node('cpu1', 0), node('big', 4, '13.0'));
    expect(() => cudaPlacement(1, { ...p, nodes: p.nodes.slice(0, 3) }, cu('13.0'))).toThrow(
      'the image needs CUDA 13.0 (CUDA_VERSION=13.0.0) but the newest any matching host supports is 12.4 (gpu1: CUDA 12.4; gpu2: CUDA 12.2); use an image built for CUDA 12.4 or older, or a host with a newer driver',
    );
    expect(() => cudaPlacement(2, p, cu('13.1'))).toThrow(/the newest any matching host supports is 13\.0 \(big: CUDA 13\.0\)/);
  });

  it('where some run it, the others (older or unknown CUDA) are left out; an image that declares none goes anywhere', () => {
    const p = placement(node('gpu1', 1, '12.4'), node('gpu2', 1, '12.2'), node('gpu3', 1));
    expect(cudaPlacement(1, p, cu('12.4'))).toEqual({ need: cu('12.4'), excluded: ['gpu2', 'gpu3'] });
    expect(cudaPlacement(1, p, cu('12.2'))).toEqual({ need: cu('12.2'), excluded: ['gpu3'] });
    expect(cudaPlacement(1, p, undefined)).toEqual({ need: undefined, excluded: [] });
  });
});
