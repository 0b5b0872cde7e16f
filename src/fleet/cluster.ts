import type { AgentTuning } from '../autostop/agent.js';
import type { BlockDeviceMatch } from '../facts/block-device.js';
import type { DriverSeries } from '../gpu/generation.js';
import type { OverlayPlan } from '../network/overlay.js';

/**
 * Everything the controller and compute playbooks need, computed locally
 * before anything runs: addresses, keys and where the registry and share are.
 */
export interface ClusterPlan {
  /** host:port compute hosts use for the registry (the hub's overlay address). */
  registryHost: string;
  registryPort: number;
  overlay: OverlayPlan;
  /** Path on the controller that holds the user's project folder, exported over NFS. */
  exportPath: string;
  /** Where the controller sees the project as a share mounted after boot (Vagrant), which setup turns into `exportPath`. */
  projectShare?: string;
  /** Path on the controller where the registry keeps images (on the user's machine). */
  registryStorage: string;
  /** Flatcar GPU hosts: the official driver sysext series and the nvidia-runtime sysext version. */
  nvidia: { driverSeries: DriverSeries; runtimeVersion: string };
  swarm: SwarmPlan;
  /**
   * Hosts this run only brings up to date on the overlay (new peers, moved
   * endpoints), without the rest of their setup: enrolled hosts outside the
   * pattern, so that the mesh stays whole.
   */
  overlayOnly: string[];
  /** The autostop agent's check interval and load threshold (absent: the defaults). */
  autostop?: AgentTuning;
  /** Data volumes that setup formats (while blank) and mounts on their hosts (absent: none). */
  volumes?: HostVolume[];
}

/**
 * A data volume attached to a host as a disk (EC2), as setup makes it
 * usable: found by `device`, formatted ext4 with `label` and `uuid` while
 * blank, mounted at `mountPoint`. Volumes their provider puts in place itself
 * (local binds) are not in the plan.
 */
export interface HostVolume {
  host: string;
  name: string;
  mountPoint: string;
  device: BlockDeviceMatch;
  label: string;
  uuid: string;
}

/** Docker Swarm mode on top of the overlay: the controller manages, every compute host works. */
export interface SwarmPlan {
  /** The manager's overlay address; every swarm port (2377, 7946, 4789) stays on the overlay. */
  managerAddress: string;
  /** The pool swarm carves overlay networks from (`--default-addr-pool`), /24 each. */
  addressPool: string;
  /** The worker join token, read from the manager just before setup. Secret: never printed or logged. */
  joinToken?: string;
}

export { CONTROLLER_NAME as CONTROLLER } from '../core/controller.js';
export { CONTROLLER_GROUP } from '../core/controller.js';
/** The attachable swarm overlay network every host's containers can join, by name. */
export const SWARM_NETWORK = 'pcc';
/** WireGuard's MTU; swarm's VXLAN takes another 50 bytes inside it, so containers get 1370. */
export const OVERLAY_MTU = 1420;
