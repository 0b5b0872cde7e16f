// Run by capture-and-run.sh through `pcc run` over real SSH on a GPU machine:
// hands back what the GPU facts read and the GPU plan pcc would apply. With
// GPU_APPLY=1 in the project's config (a playbook variable) it also applies the GPU part of setup (docker's
// nvidia runtime, swarm resources, one docker restart, the runtime check).
import { definePlaybook, facts, ops } from 'pcc';
import type { ClusterPlan } from '../../src/fleet/cluster.js';
import { gpuHostFacts, gpuPlan } from '../../playbooks/gpu.js';

const plan = { nvidia: { driverSeries: '570', runtimeVersion: 'v1.17.9' } } as ClusterPlan;

export default definePlaybook({
  name: 'gpu-probe',
  async run(host) {
    const [os, gpu, more] = await Promise.all([host.fact(facts.osRelease), host.fact(facts.gpu), host.fact(gpuHostFacts)]);
    const p = gpuPlan(os, gpu, more, plan);
    host.output('os', os);
    host.output('gpu', gpu);
    host.output('host', more);
    host.output('plan', { host: p.host.map((o) => o.name), docker: p.docker.map((o) => o.name), verify: p.verify.map((o) => o.name), rebooting: p.rebooting, cuda: p.cuda });
    if (host.vars.GPU_APPLY !== '1' || p.rebooting || p.docker.length === 0) return;
    for (const op of p.host) host.add(op);
    for (const op of p.docker) host.add(op);
    host.add(ops.service('docker.service', { restartAfter: p.docker }));
    for (const op of p.verify) host.add(op);
  },
});
