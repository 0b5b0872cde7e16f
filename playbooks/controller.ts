// The controller (`pcc init`, and refreshed by every `pcc setup`): the private
// registry, the NFS export of the project folder, the overlay hub and the
// swarm manager with its `pcc` container network.
import { OVERLAY_MTU, SWARM_NETWORK, type ClusterPlan } from '../src/fleet/cluster.js';
import { jobReaperOps } from '../src/jobs/reaper.js';
import { swarmManager, swarmOverlayNetwork } from '../src/swarm/ops.js';
import { WG_INTERFACE, wireguardBackend } from '../src/network/wireguard.js';
import { definePlaybook, facts, ops, type HostContext } from '../src/index.js';
import { EXPORT_VIEW_UNIT, exportViewOps, viewExports } from './export-view.js';
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
    // The overlay address only: compute hosts pull over WireGuard, and the
    // user's machine pushes through an SSH tunnel to this same address.
    `  addr: ${plan.overlay.hub.address}:${plan.registryPort}`,
    '',
  ].join('\n');
}

/** Who writes to the project over NFS: everyone is mapped to the owner of the project folder. */
export interface ExportOwner {
  uid: number;
  gid: number;
}

export function ganeshaConfig(plan: ClusterPlan, owner: ExportOwner): string {
  return [
    '# Written by pcc: the project folder for every host, as /project.',
    // NFSv4 only, so no portmapper, lock manager or quota service; the overlay address only.
    `NFS_CORE_PARAM { Protocols = 4; Bind_addr = ${plan.overlay.hub.address}; Enable_NLM = false; Enable_RQUOTA = false; }`,
    // No grace period: clients reclaim nothing, and a fresh controller serves at once.
    'NFSV4 { Graceless = true; }',
    'EXPORT {',
    '  Export_Id = 1;',
    `  Path = ${plan.exportPath};`,
    `  Pseudo = ${plan.exportPath};`,
    // Nobody by default; the overlay's hosts below. Every user (root too) is the
    // project folder's owner there, so no host can make files the owner cannot touch.
    '  Access_Type = None;',
    '  Squash = All_Squash;',
    `  Anonymous_Uid = ${owner.uid};`,
    `  Anonymous_Gid = ${owner.gid};`,
    '  SecType = sys;',
    '  Protocols = 4;',
    '  Transports = TCP;',
    `  CLIENT { Clients = ${plan.overlay.subnet}; Access_Type = RW; }`,
    '  FSAL { Name = VFS; }',
    '}',
    '',
  ].join('\n');
}

/**
 * Flatcar's kernel NFS server: the overlay only, everyone mapped to the
 * folder's owner, the view of the project (./export-view.ts) with its
 * covered folders. The view is Vagrant's NFS share from your machine, and the
 * kernel re-exports an NFS mount only with an explicit `fsid` (the kernel's
 * Documentation/filesystems/nfs/reexport.rst); 0 would make it the NFSv4 root.
 */
export function kernelExports(plan: ClusterPlan, owner: ExportOwner): string {
  const squash = `all_squash,anonuid=${owner.uid},anongid=${owner.gid}`;
  return ['# Written by pcc', ...viewExports(plan.exportPath, plan.overlay.subnet, squash, KERNEL_EXPORT_FSID), ''].join('\n');
}

/** Any stable number but 0, the same on every setup; the covered folders take the next ones. */
const KERNEL_EXPORT_FSID = 214;

/**
 * Flatcar's nfsd listens on the overlay address only, NFSv4 only: rpcbind and
 * statd are not needed, and rpc.mountd, which reads the same [nfsd] versions,
 * opens no MOUNT port without NFSv2 or v3 (it still answers the kernel's export lookups).
 */
export function kernelNfsConf(plan: ClusterPlan): string {
  return ['# Written by pcc', '[nfsd]', `host=${plan.overlay.hub.address}`, 'vers2=n', 'vers3=n', 'udp=n', ''].join('\n');
}

/** Services that bind the overlay address start after the overlay is up, and retry if it was slow. */
export const AFTER_OVERLAY = afterOverlay();

/** The kernel's NFS server also needs the view it exports, and never runs without it. */
export const KERNEL_NFS_DROP_IN = afterOverlay(EXPORT_VIEW_UNIT);

function afterOverlay(requires?: string): string {
  return [
    '[Unit]',
    `After=wg-quick@${WG_INTERFACE}.service${requires ? ` ${requires}` : ''}`,
    `Wants=wg-quick@${WG_INTERFACE}.service`,
    ...(requires ? [`Requires=${requires}`] : []),
    '',
    '[Service]',
    'Restart=on-failure',
    'RestartSec=2',
    '',
  ].join('\n');
}

/** NFSv4 needs neither: rpcbind and statd would only listen on every address. */
export const NFS_V3_SERVICES = ['rpcbind.socket', 'rpcbind.service', 'nfs-ganesha-lock.service', 'rpc-statd.service'];

/** `systemctl mask --now` for each unit not masked yet. */
export function maskUnits(units: readonly string[]): ReturnType<typeof ops.command> {
  const check = units.map((u) => `[ "$(systemctl is-enabled ${u} 2>/dev/null)" = masked ]`).join(' && ');
  return ops.command(['systemctl', 'mask', '--now', ...units], { name: `mask ${units.join(' ')}`, unless: check });
}

const exportOwner = (exportPath: string) => facts.commandOutput(`stat -c '%u %g' ${exportPath}`, [exportPath]);

function parseOwner(out: { code: number; stdout: string }, exportPath: string): ExportOwner {
  const [uid, gid] = out.stdout.trim().split(' ').map(Number);
  if (out.code !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`the controller cannot stat ${exportPath}, the project folder it exports`);
  }
  return { uid: uid!, gid: gid! };
}

export function registryUnit(plan: ClusterPlan): string {
  return [
    '[Unit]',
    'Description=pcc private registry',
    `After=docker.service wg-quick@${WG_INTERFACE}.service`,
    'Requires=docker.service',
    `Wants=wg-quick@${WG_INTERFACE}.service`,
    '',
    '[Service]',
    'ExecStartPre=-/usr/bin/docker rm -f pcc-registry',
    `ExecStart=/usr/bin/docker run --rm --name pcc-registry -p ${plan.overlay.hub.address}:${plan.registryPort}:5000 -v ${plan.registryStorage}:/var/lib/registry registry:2`,
    'ExecStop=/usr/bin/docker stop pcc-registry',
    'Restart=always',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Flatcar is the Vagrant controller, and only it exports a view of a share (Vagrant's); the local controller's view is made by nspawn. */
function shareOf(plan: ClusterPlan, os: string, osName: string): string | undefined {
  if (os === 'flatcar' && plan.projectShare === undefined) {
    throw new Error('a Flatcar controller exports the project from a share (Vagrant\'s), and its host record names none; run pcc acquire vagrant again');
  }
  if (os !== 'flatcar' && plan.projectShare !== undefined) {
    throw new Error(`the Vagrant controller runs Flatcar (its Vagrantfile applies Ignition), and this one runs ${osName}; set VAGRANT_BOX to a Flatcar box`);
  }
  return plan.projectShare;
}

export async function controllerOps(host: HostContext, plan: ClusterPlan): Promise<void> {
  // The folder itself: a view to export may not be made yet.
  const folder = plan.projectShare ?? plan.exportPath;
  const [release, ownerOut] = await Promise.all([host.fact(facts.osRelease), host.fact(exportOwner(folder))]);
  const os = facts.osFamily(release);
  const owner = parseOwner(ownerOut, folder);
  if (os !== 'debian' && os !== 'flatcar') throw new Error('the controller needs Debian/Ubuntu or Flatcar');
  const projectShare = shareOf(plan, os, release.prettyName);
  if (os === 'debian') {
    host.add(ops.packages(['docker.io', 'docker-registry', 'nfs-ganesha', 'nfs-ganesha-vfs', 'wireguard-tools', 'wireguard-go']));
  }
  // The hub first: the registry and the export listen on its overlay address.
  for (const op of wireguardBackend().hubOps(plan.overlay)) host.add(op);
  if (os === 'debian') {
    const registry = ops.file('/etc/docker/registry/config.yml', { content: registryConfig(plan), mode: '0644' });
    host.add(registry);
    host.add(ops.service('docker-registry.service', { restartAfter: [registry], dropIn: AFTER_OVERLAY }));
    host.add(maskUnits(NFS_V3_SERVICES));
    const ganesha = ops.file('/etc/ganesha/ganesha.conf', { content: ganeshaConfig(plan, owner), mode: '0644' });
    host.add(ganesha);
    host.add(ops.service('nfs-ganesha.service', { restartAfter: [ganesha], dropIn: AFTER_OVERLAY }));
  } else if (projectShare !== undefined) {
    // Flatcar has no packages: the registry runs as a container, the export uses the kernel's NFS server.
    host.add(ops.directory(plan.registryStorage));
    host.add(ops.systemdUnit('pcc-registry.service', { content: registryUnit(plan) }));
    const exports = ops.file('/etc/exports', { content: kernelExports(plan, owner) });
    const nfsConf = ops.file('/etc/nfs.conf.d/pcc.conf', { content: kernelNfsConf(plan) });
    host.add(exports);
    host.add(nfsConf);
    const view = exportViewOps(host, { ...plan, projectShare });
    host.add(maskUnits(['rpcbind.socket', 'rpcbind.service', 'rpc-statd.service']));
    host.add(ops.service('nfs-server.service', { restartAfter: [exports, nfsConf, view], dropIn: KERNEL_NFS_DROP_IN }));
  }
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
