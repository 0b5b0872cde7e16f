import type { Project } from '../core/project.js';
import type { Settings } from '../settings/load.js';
import type { State } from '../state/schema.js';
import { CONTROLLER, type ClusterPlan } from './cluster.js';
import { controllerOf, overlayNode } from './overlay-members.js';

/** Where the local and vagrant controllers keep the export and registry storage, unless their record says otherwise. */
const DEFAULT_EXPORT = '/project-export';
const DEFAULT_REGISTRY_STORAGE = '/var/lib/docker-registry';

/** The plan every setup run works from: the hub knows every enrolled host, not only the ones being set up. */
export async function clusterPlan(project: Project, settings: Settings, state: State): Promise<ClusterPlan> {
  const controller = controllerOf(state);
  const reachAt = controller.reachableAddress ?? controller.address;
  const hub = await overlayNode(project, controller, `${reachAt}:${settings.values.OVERLAY_PORT}`);
  const enrolled = Object.values(state.hosts).filter((h) => h.name !== CONTROLLER && h.overlayAddress && h.meta.wgPublicKey);
  const peers = await Promise.all(enrolled.map((h) => overlayNode(project, h)));
  return {
    registryHost: `${hub.address}:${settings.values.REGISTRY_PORT}`,
    registryPort: settings.values.REGISTRY_PORT,
    overlay: { subnet: settings.values.OVERLAY_SUBNET, hub, peers },
    overlayPort: settings.values.OVERLAY_PORT,
    exportPath: controller.meta.exportPath ?? DEFAULT_EXPORT,
    registryStorage: controller.meta.registryStorage ?? DEFAULT_REGISTRY_STORAGE,
    nvidiaSysext: settings.values.NVIDIA_SYSEXT,
  };
}
