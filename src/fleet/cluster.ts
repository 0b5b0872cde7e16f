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
  overlayPort: number;
  /** Path on the controller that holds the user's project folder, exported over NFS. */
  exportPath: string;
  /** Path on the controller where the registry keeps images (on the user's machine). */
  registryStorage: string;
  /** Flatcar GPU hosts: the official driver sysext series and the nvidia-runtime sysext version. */
  nvidia: { driverSeries: DriverSeries; runtimeVersion: string };
}

export const CONTROLLER = 'init';
export const CONTROLLER_GROUP = 'controller';
