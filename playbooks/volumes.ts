// Data volumes attached as disks (EC2): formatted while blank, never again,
// and mounted by UUID with a systemd mount unit that comes back on boot.
// Local volumes are binds their provider sets up; they are not in the plan.
import type { ClusterPlan, HostVolume } from '../src/fleet/cluster.js';
import { ops, type HostContext } from '../src/index.js';
import type { Operation } from '../src/ops/operation.js';

export function volumeOps(v: HostVolume): Operation[] {
  return [
    ops.filesystem(v.device, { type: 'ext4', label: v.label, uuid: v.uuid }),
    // Before docker: containers that bind the mount point at boot see the volume, not the empty directory under it.
    ops.mountDevice(v.device, v.mountPoint, { before: ['docker.service'] }),
  ];
}

export function addVolumeOps(host: HostContext, plan: ClusterPlan): void {
  for (const v of plan.volumes ?? []) if (v.host === host.name) for (const op of volumeOps(v)) host.add(op);
}
