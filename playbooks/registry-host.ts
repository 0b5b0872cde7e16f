// Every host, the controller included: $REGISTRY_HOST for login shells, and
// docker trusting the registry (plain HTTP, reachable only over the overlay).
import type { ClusterPlan } from '../src/fleet/cluster.js';
import { ops, type HostContext } from '../src/index.js';

/** `dockerConfig`: other daemon.json changes (the GPU's), so that docker restarts once for all of them. */
export function registryHostOps(host: HostContext, plan: ClusterPlan, dockerConfig: readonly ops.Operation[] = []): void {
  host.add(ops.lineInFile('/etc/environment', { line: `REGISTRY_HOST=${plan.registryHost}`, match: /^REGISTRY_HOST=/ }));
  host.add(ops.file('/etc/profile.d/pcc.sh', { content: `export REGISTRY_HOST=${plan.registryHost}\n`, mode: '0644' }));
  const daemon = ops.jsonFile('/etc/docker/daemon.json', (d) => ops.withListEntries(d, 'insecure-registries', [plan.registryHost]));
  host.add(daemon);
  for (const op of dockerConfig) host.add(op);
  host.add(ops.service('docker.service', { restartAfter: [daemon, ...dockerConfig] }));
}
