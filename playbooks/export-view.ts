// The Vagrant controller's export: Vagrant mounts the whole project folder
// (config/.private and .pcc/ included) at a share once the VM is up, so the
// kernel's NFS server exports a view of it instead, where an empty read-only
// tmpfs covers each of UNEXPORTED_DIRS. The local controller gets the same
// view from systemd-nspawn (a bind and --tmpfs) before it boots.
import { UNEXPORTED_DIRS } from '../src/core/project.js';
import type { ClusterPlan } from '../src/fleet/cluster.js';
import { ops, type HostContext } from '../src/index.js';
import type { Operation } from '../src/ops/operation.js';

export const EXPORT_VIEW_UNIT = 'pcc-export-view.service';
export const EXPORT_VIEW_SCRIPT = '/etc/pcc/export-view';
/** How long the view waits at boot for Vagrant to mount the share (Vagrant mounts it over SSH once the VM answers). */
export const SHARE_WAIT_S = 120;

/**
 * `sh EXPORT_VIEW_SCRIPT SHARE VIEW WAIT DIR...`: bind SHARE at VIEW, then
 * cover each DIR in VIEW. It fails closed: any error leaves no view at all
 * (the trap), and nfs-server requires this unit, so it never serves a half-made
 * view. A view made before (of an older mount of the share) is made anew.
 */
export const EXPORT_VIEW_SH = [
  'set -eu',
  'share=$1 view=$2 wait=$3',
  'shift 3',
  'i=0',
  'until mountpoint -q "$share"; do',
  '  if [ "$i" -ge "$wait" ]; then echo "$share is not mounted: Vagrant mounts the project there when the machine comes up" >&2; exit 1; fi',
  '  i=$((i + 1)); sleep 1',
  'done',
  'mkdir -p "$view"',
  'if mountpoint -q "$view"; then umount -R "$view"; fi',
  'trap \'umount -R "$view" 2>/dev/null || true\' EXIT',
  'mount --bind "$share" "$view"',
  // Flatcar's / is shared: without this, the tmpfs mounts below would also cover the share itself.
  'mount --make-private "$view"',
  'for d in "$@"; do',
  '  mkdir -p "$view/$d"',
  '  mount -t tmpfs -o ro,nosuid,nodev,noexec,size=16k,mode=0755 pcc-unexported "$view/$d"',
  'done',
  'trap - EXIT',
  '',
].join('\n');

export function exportViewUnit(share: string, view: string): string {
  return [
    '[Unit]',
    `Description=pcc: the project as NFS exports it, without ${UNEXPORTED_DIRS.join(' and ')}`,
    'After=local-fs.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/bin/sh ${EXPORT_VIEW_SCRIPT} ${share} ${view} ${SHARE_WAIT_S} ${UNEXPORTED_DIRS.join(' ')}`,
    `ExecStopPost=-/bin/umount -R ${view}`,
    `TimeoutStartSec=${SHARE_WAIT_S + 30}`,
    '',
    // Enabled for nfs-server, which also requires it (its drop-in): the view comes with the export, at boot too.
    '[Install]',
    'WantedBy=nfs-server.service',
    '',
  ].join('\n');
}

/**
 * The kernel's exports for the view. An NFSv4 client crosses into a mount
 * below an export only when that mount is exported too (the kernel's
 * nfsd_cross_mnt); otherwise it is shown the directory underneath, which
 * here is the real config/. So each tmpfs is exported read-only, with an
 * fsid of its own, since a tmpfs has no UUID.
 */
export function viewExports(view: string, clients: string, squash: string, fsid: number): string[] {
  return [
    `${view} ${clients}(rw,sync,no_subtree_check,${squash},fsid=${fsid})`,
    ...UNEXPORTED_DIRS.map((d, i) => `${view}/${d} ${clients}(ro,sync,no_subtree_check,${squash},fsid=${fsid + 1 + i})`),
  ];
}

/** The script, the unit that runs it, and the unit's operation (nfs-server restarts after it). */
export function exportViewOps(host: HostContext, plan: ClusterPlan & { projectShare: string }): Operation {
  host.add(ops.directory('/etc/pcc'));
  const script = ops.file(EXPORT_VIEW_SCRIPT, { content: EXPORT_VIEW_SH, mode: '0755' });
  host.add(script);
  const unit = ops.systemdUnit(EXPORT_VIEW_UNIT, { content: exportViewUnit(plan.projectShare, plan.exportPath), restartAfter: [script] });
  host.add(unit);
  return unit;
}
