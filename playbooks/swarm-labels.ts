// After setup, on the swarm manager: every set-up host's node carries pcc's
// labels (for placing work by host, kind, provider, site, instance type and
// CPU features), and nodes that left are removed.
import { definePlaybook } from '../src/index.js';
import { swarmNodeLabels } from '../src/swarm/ops.js';

/** Wanted labels by the node's overlay address. */
export interface SwarmLabelsInput {
  labels: Record<string, Record<string, string>>;
}

export default definePlaybook<SwarmLabelsInput>({
  name: 'swarm-labels',
  run(host, input) {
    host.add(swarmNodeLabels(input.labels));
  },
});
