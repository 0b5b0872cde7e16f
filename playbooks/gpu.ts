// The GPU path, decided by facts: an NVIDIA device on the PCI bus gets the
// driver and the NVIDIA container runtime, so `docker run --gpus all` works.
import type { ClusterPlan } from '../src/fleet/cluster.js';
import { facts, ops, type HostContext } from '../src/index.js';
import type { GpuInfo, OsRelease } from '../src/facts/index.js';

export function gpuOps(os: OsRelease, gpu: GpuInfo, plan: ClusterPlan): ops.Operation[] {
  if (!gpu.nvidia) return [];
  const family = facts.osFamily(os);
  if (family === 'flatcar') {
    // Flatcar's official sysexts: prebuilt drivers and the container toolkit.
    const sysexts = ops.file('/etc/flatcar/enabled-sysext.conf', { content: `${plan.nvidiaSysext}\nnvidia-runtime\n`, mode: '0644' });
    return [sysexts, ops.service('ensure-sysext.service', { restartAfter: [sysexts] })];
  }
  if (family === 'debian') {
    if (!gpu.driverLoaded) {
      return [
        ops.command(['sh', '-c', 'echo "NVIDIA GPU found but no driver answers (nvidia-smi); use a Deep Learning AMI (EC2_GPU_AMI=dlami) or install the driver" >&2; exit 1'], {
          name: 'nvidia driver present',
        }),
      ];
    }
    // A Deep Learning AMI ships the toolkit; elsewhere it comes from NVIDIA's apt repository.
    const daemon = ops.jsonFile('/etc/docker/daemon.json', (d) => ({
      ...d,
      runtimes: { ...((d.runtimes as object | undefined) ?? {}), nvidia: { path: 'nvidia-container-runtime', args: [] } },
    }));
    return [ops.packages(['nvidia-container-toolkit']), daemon, ops.service('docker.service', { restartAfter: [daemon] })];
  }
  return [ops.command(['sh', '-c', 'echo "GPU setup supports Flatcar and Debian/Ubuntu only" >&2; exit 1'], { name: 'gpu os supported' })];
}

export async function gpuSetup(host: HostContext, plan: ClusterPlan): Promise<boolean> {
  const [os, gpu] = await Promise.all([host.fact(facts.osRelease), host.fact(facts.gpu)]);
  for (const op of gpuOps(os, gpu, plan)) host.add(op);
  return gpu.nvidia;
}
