import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGpu } from '../../src/facts/host.js';
import type { ClusterPlan } from '../../src/fleet/cluster.js';
import { gpuOps } from '../../playbooks/gpu.js';
import { writeFileCommand } from '../../src/ops/files.js';

const recorded = (name: string) => parseGpu(readFileSync(path.join(import.meta.dirname, '../fixtures/gpu', name), 'utf8'));
const ubuntu = { id: 'ubuntu', idLike: ['debian'], versionId: '22.04', prettyName: 'Ubuntu 22.04.4 LTS' };
const flatcar = { id: 'flatcar', idLike: [], versionId: '4081.2.0', prettyName: 'Flatcar Container Linux by Kinvolk 4081.2.0' };
const plan = { nvidiaSysext: 'nvidia-drivers-570-open' } as ClusterPlan;

describe('GPU path on recorded lspci / nvidia-smi outputs (no GPU on this machine)', () => {
  it('detects NVIDIA devices by PCI vendor 10de, and models from nvidia-smi', () => {
    expect(recorded('g5.xlarge-dlami.txt')).toEqual({ nvidia: true, models: ['NVIDIA A10G'], driverLoaded: true });
    expect(recorded('p3.2xlarge-dlami.txt')).toEqual({ nvidia: true, models: ['Tesla V100-SXM2-16GB'], driverLoaded: true });
    expect(recorded('g4dn.xlarge-flatcar-first-boot.txt')).toEqual({ nvidia: true, models: [], driverLoaded: false });
    expect(recorded('c6i.xlarge.txt')).toEqual({ nvidia: false, models: [], driverLoaded: false });
  });

  it('a CPU host gets no GPU operations', () => {
    expect(gpuOps(ubuntu, recorded('c6i.xlarge.txt'), plan)).toEqual([]);
  });

  it('Flatcar enables the NVIDIA driver and runtime sysexts', () => {
    const ops = gpuOps(flatcar, recorded('g4dn.xlarge-flatcar-first-boot.txt'), plan);
    expect(ops.map((o) => o.name)).toEqual(['file /etc/flatcar/enabled-sysext.conf', 'service ensure-sysext.service']);
    const change = ops[0]!.plan((() => ({ exists: false })) as never, { changed: () => false });
    expect(change?.commands[0]).toEqual(writeFileCommand('/etc/flatcar/enabled-sysext.conf', 'nvidia-drivers-570-open\nnvidia-runtime\n', '0644'));
  });

  it('a Deep Learning AMI gets the container toolkit and docker\'s nvidia runtime', () => {
    const ops = gpuOps(ubuntu, recorded('g5.xlarge-dlami.txt'), plan);
    expect(ops.map((o) => o.name)).toEqual(['packages nvidia-container-toolkit', 'json /etc/docker/daemon.json', 'service docker.service']);
    const daemon = { exists: true, type: 'file', mode: '0644', content: Buffer.from('{"insecure-registries":["10.214.0.1:5000"]}') };
    const change = ops[1]!.plan((() => daemon) as never, { changed: () => false });
    const wanted = { 'insecure-registries': ['10.214.0.1:5000'], runtimes: { nvidia: { path: 'nvidia-container-runtime', args: [] } } };
    expect(change?.commands[0]).toEqual(writeFileCommand('/etc/docker/daemon.json', `${JSON.stringify(wanted, null, 2)}\n`, '0644'));
  });

  it('a GPU without a driver on Ubuntu fails with the fix in the message', () => {
    const ops = gpuOps(ubuntu, recorded('g4dn.xlarge-flatcar-first-boot.txt'), plan);
    expect(ops).toHaveLength(1);
    expect(ops[0]!.name).toBe('nvidia driver present');
  });
});
