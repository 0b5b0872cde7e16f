// `pcc setup <pattern>`: each compute host trusts the registry, mounts the
// project share, joins the overlay and the swarm, mounts its data volume and,
// where a GPU is found, gets the NVIDIA runtime. The controller and every
// other enrolled host in the same run learn the new overlay peers.
import { autostopOps, DEFAULT_TUNING } from '../src/autostop/agent.js';
import { PROJECT_MOUNT } from '../src/core/project.js';
import { CONTROLLER_GROUP, type ClusterPlan } from '../src/fleet/cluster.js';
import { wireguardBackend } from '../src/network/wireguard.js';
import { definePlaybook, facts, ops, type HostContext } from '../src/index.js';
import { swarmWorker } from '../src/swarm/ops.js';
import { controllerOps } from './controller.js';
import { readGpuPlan } from './gpu.js';
import { registryHostOps } from './registry-host.js';
import { addVolumeOps } from './volumes.js';

const nfsClient = facts.defineFact<boolean>({
  key: 'nfs-client',
  script: 'grep -qw nfs4 /proc/filesystems || modprobe -n nfs4 2>/dev/null && echo yes || echo no',
  parse: (out) => out.trim() === 'yes',
  stable: true,
});

const projectIsMounted = facts.commandSucceeds(`mountpoint -q ${PROJECT_MOUNT}`);

export function projectMountUnit(plan: ClusterPlan): string {
  return [
    '[Unit]',
    'Description=pcc project share from the controller',
    'After=network-online.target wg-quick@pcc0.service',
    'Wants=network-online.target',
    'Requires=wg-quick@pcc0.service',
    '',
    '[Mount]',
    `What=${plan.overlay.hub.address}:${plan.exportPath}`,
    `Where=${PROJECT_MOUNT}`,
    'Type=nfs4',
    'Options=rw,hard,noatime,_netdev',
    'TimeoutSec=30',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function overlayMember(host: HostContext, plan: ClusterPlan) {
  const node = plan.overlay.peers.find((p) => p.name === host.name);
  if (!node) throw new Error(`${host.name} has no overlay address; run it through pcc setup`);
  return node;
}

async function computeOps(host: HostContext, plan: ClusterPlan): Promise<void> {
  const node = overlayMember(host, plan);
  const [os, canMount, gpu, cpuFlags] = await Promise.all([
    host.fact(facts.osRelease),
    host.fact(nfsClient),
    readGpuPlan(host, plan),
    host.fact(facts.cpuFlags),
  ]);
  if (facts.osFamily(os) === 'debian') {
    // A docker already there (the Deep Learning AMI's docker-ce) is kept: docker.io would replace it.
    const docker = (await host.fact(facts.docker)).installed ? [] : ['docker.io'];
    host.add(ops.packages([...docker, 'wireguard-tools', 'wireguard-go', ...(canMount ? ['nfs-common'] : [])]));
  }
  for (const op of gpu.host) host.add(op);
  registryHostOps(host, plan, gpu.docker);
  for (const op of gpu.verify) host.add(op);
  for (const op of wireguardBackend().peerOps(node, plan.overlay)) host.add(op);
  if (host.record.projectBound) {
    // Its provider binds the project folder there at boot (a local host shares this machine's disk).
    host.output('projectMounted', await host.fact(projectIsMounted));
  } else {
    host.add(ops.directory(PROJECT_MOUNT));
    // Without a kernel NFS client (a container on a kernel without nfs4) the unit is kept but not started.
    host.add(ops.systemdUnit('project.mount', { content: projectMountUnit(plan), enabled: canMount, state: canMount ? 'started' : 'stopped' }));
    host.output('projectMounted', canMount);
  }
  host.output('gpu', gpu.gpu.nvidia);
  if (gpu.cuda) host.output('cuda', gpu.cuda);
  host.add(swarmWorker(node.address, plan.swarm.managerAddress, plan.swarm.joinToken));
  host.output('cpuFlags', cpuFlags);
  // The autostop agent, where the host's record has a setting (pcc autostop, acquire --autostop).
  if (host.record.autostop) for (const op of autostopOps(host.record.autostop, plan.autostop ?? DEFAULT_TUNING)) host.add(op);
  // Its data volume (EC2: a disk to format while blank and mount), after the rest, whose facts a mkfs would make stale.
  addVolumeOps(host, plan);
  // Last: a reboot (to fetch the driver sysext) ends the host's run; setup waits and runs again.
  for (const op of gpu.last) host.add(op);
  if (gpu.rebooting) host.output('rebooting', true);
}

export default definePlaybook<ClusterPlan>({
  name: 'setup',
  async run(host, plan) {
    if (host.record.groups.includes(CONTROLLER_GROUP)) await controllerOps(host, plan);
    else if (plan.overlayOnly.includes(host.name)) for (const op of wireguardBackend().peerOps(overlayMember(host, plan), plan.overlay)) host.add(op);
    else await computeOps(host, plan);
  },
});

