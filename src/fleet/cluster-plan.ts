import type { Project } from '../core/project.js';
import type { Settings } from '../settings/load.js';
import type { State } from '../state/schema.js';
import { CONTROLLER, OVERLAY_MTU, type ClusterPlan } from './cluster.js';
import { agentTuning } from '../autostop/agent.js';
import { controllerOf, overlayNode } from './overlay-members.js';
import { hostVolumes } from './volumes.js';

/** Where the local and vagrant controllers keep the export and registry storage, unless their record says otherwise. */
const DEFAULT_EXPORT = '/project-export';
const DEFAULT_REGISTRY_STORAGE = '/var/lib/docker-registry';

/** The plan every setup run works from: every member knows every enrolled host, not only the ones being set up. */
export async function clusterPlan(
  project: Project,
  settings: Settings,
  state: State,
  run: { joinToken?: string; overlayOnly?: string[] } = {},
): Promise<ClusterPlan> {
  const port = settings.values.OVERLAY_PORT;
  const controller = controllerOf(state);
  const hub = await overlayNode(project, controller, port);
  const enrolled = Object.values(state.hosts).filter((h) => h.name !== CONTROLLER && h.overlayAddress && h.overlayPublicKey);
  const peers = await Promise.all(enrolled.map((h) => overlayNode(project, h, port)));
  return {
    registryHost: `${hub.address}:${settings.values.REGISTRY_PORT}`,
    registryPort: settings.values.REGISTRY_PORT,
    overlay: { subnet: settings.values.OVERLAY_SUBNET, port, mtu: OVERLAY_MTU, hub, peers },
    exportPath: controller.exportPath ?? DEFAULT_EXPORT,
    ...(controller.projectShare ? { projectShare: controller.projectShare } : {}),
    registryStorage: controller.registryStorage ?? DEFAULT_REGISTRY_STORAGE,
    nvidia: { driverSeries: settings.values.NVIDIA_DRIVER_SERIES, runtimeVersion: settings.values.NVIDIA_RUNTIME_VERSION },
    swarm: {
      managerAddress: hub.address,
      addressPool: settings.values.SWARM_ADDRESS_POOL,
      ...(run.joinToken ? { joinToken: run.joinToken } : {}),
    },
    overlayOnly: run.overlayOnly ?? [],
    autostop: agentTuning(settings),
    volumes: await hostVolumes(state),
  };
}
