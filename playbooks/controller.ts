// The controller (`pcc init`, and refreshed by every `pcc setup`): the private
// registry, the NFS export of the project folder, the overlay hub and the
// swarm manager with its `pcc` container network.
import { OVERLAY_MTU, SWARM_NETWORK, type ClusterPlan } from '../src/fleet/cluster.js';
import { jobReaperOps } from '../src/jobs/reaper.js';
import { swarmManager, swarmOverlayNetwork } from '../src/swarm/ops.js';
import { wireguardBackend } from '../src/network/wireguard.js';
import { definePlaybook, facts, ops, type HostContext } from '../src/index.js';
import { registryHostOps } from './registry-host.js';

export function registryConfig(plan: ClusterPlan): string {
  return [
    '# Written by pcc. Images live in storage kept on the user\'s machine.',
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${plan.registryStorage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    // All interfaces of the controller, none of them public: the overlay, and the
    // host-only network that the user's machine builds through.
    `  addr: :${plan.registryPort}`,
    '',
  ].join('\n');
}

export function ganeshaConfig(plan: ClusterPlan): string {
  return [
    '# Written by pcc: the project folder for every host, as /project.',
    'NFS_CORE_PARAM { Protocols = 4; }',
    // No grace period: clients reclaim nothing, and a fresh controller serves at once.
    'NFSV4 { Graceless = true; }',
    'EXPORT {',
    '  Export_Id = 1;',
    `  Path = ${plan.exportPath};`,
    `  Pseudo = ${plan.exportPath};`,
    '  Access_Type = RW;',
    '  Squash = No_Root_Squash;',
    '  SecType = sys;',
    '  Protocols = 4;',
    '  Transports = TCP;',
    `  CLIENT { Clients = ${plan.overlay.subnet}; Access_Type = RW; }`,
    '  FSAL { Name = VFS; }',
    '}',
    '',
  ].join('\n');
}

export function registryUnit(plan: ClusterPlan): string {
  return [
    '[Unit]',
    'Description=pcc private registry',
    'After=docker.service',
    'Requires=docker.service',
    '',
    '[Service]',
    'ExecStartPre=-/usr/bin/docker rm -f pcc-registry',
    `ExecStart=/usr/bin/docker run --rm --name pcc-registry -p ${plan.registryPort}:5000 -v ${plan.registryStorage}:/var/lib/registry registry:2`,
    'ExecStop=/usr/bin/docker stop pcc-registry',
    'Restart=always',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export async function controllerOps(host: HostContext, plan: ClusterPlan): Promise<void> {
  const os = facts.osFamily(await host.fact(facts.osRelease));
  if (os === 'debian') {
    host.add(ops.packages(['docker.io', 'docker-registry', 'nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind', 'wireguard-tools', 'wireguard-go']));
    const registry = ops.file('/etc/docker/registry/config.yml', { content: registryConfig(plan), mode: '0644' });
    host.add(registry);
    host.add(ops.service('docker-registry.service', { restartAfter: [registry] }));
    const ganesha = ops.file('/etc/ganesha/ganesha.conf', { content: ganeshaConfig(plan), mode: '0644' });
    host.add(ganesha);
    host.add(ops.service('rpcbind.service'));
    host.add(ops.service('nfs-ganesha.service', { restartAfter: [ganesha] }));
  } else if (os === 'flatcar') {
    // Flatcar has no packages: the registry runs as a container, the export uses the kernel's NFS server.
    host.add(ops.directory(plan.registryStorage));
    host.add(ops.systemdUnit('pcc-registry.service', { content: registryUnit(plan) }));
    const exports = ops.file('/etc/exports', {
      content: `# Written by pcc\n${plan.exportPath} ${plan.overlay.subnet}(rw,sync,no_subtree_check,no_root_squash)\n`,
    });
    host.add(exports);
    host.add(ops.service('nfs-server.service', { restartAfter: [exports] }));
  } else {
    throw new Error('the controller needs Debian/Ubuntu or Flatcar');
  }
  for (const op of wireguardBackend().hubOps(plan.overlay)) host.add(op);
  registryHostOps(host, plan);
  // The swarm rides on the overlay, so it comes after the hub is up.
  host.add(swarmManager(plan.swarm.managerAddress, plan.swarm.addressPool));
  host.add(swarmOverlayNetwork(SWARM_NETWORK, OVERLAY_MTU));
  // The swarm manager frees the job tasks of hosts that went down (src/jobs/reaper.ts).
  jobReaperOps(host);
  host.output('cpuFlags', await host.fact(facts.cpuFlags));
}

export default definePlaybook<ClusterPlan>({
  name: 'controller',
  run: controllerOps,
});
