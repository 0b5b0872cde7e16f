import * as ops from '../ops/index.js';
import type { HostContext } from '../playbook/define.js';
import { LOST_NODES_FILE } from './builders.js';

/**
 * Swarm leaves the tasks of a job "Running" on a node that went down (saved,
 * destroyed or lost) until that node returns; only `docker node rm` frees
 * them, and then they run again elsewhere. This loop on the manager removes a
 * worker that has been down for GRACE seconds while it still holds live
 * tasks, and notes its pcc host name so `job ls` can say where tasks were
 * lost. It runs whether or not pcc does, so jobs outlive the laptop. A host
 * that comes back joins again through pcc setup.
 */
export const REAPER_SCRIPT_PATH = '/etc/pcc/job-reaper.sh';
export const REAPER_UNIT = 'pcc-job-reaper.service';
/** Docker marks a node down 10-15 s after it stops answering; with the loop's 10 s this stays under a minute. */
export const REAPER_GRACE_S = 20;

export function reaperScript(graceSeconds = REAPER_GRACE_S): string {
  return [
    '#!/bin/sh',
    '# Written by pcc: frees the job tasks of swarm workers that went down.',
    `grace=${graceSeconds}`,
    `mkdir -p ${LOST_NODES_FILE.replace(/\/[^/]+$/, '')}`,
    'while :; do',
    `  if [ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ]; then`,
    '    now=$(date +%s)',
    '    for id in $(docker node ls -q --filter role=worker 2>/dev/null); do',
    // The host: its pcc.host label, else its hostname (a node not labelled yet), never the bare id.
    `      set -- $(docker node inspect --format '{{.Status.State}} {{.UpdatedAt.Unix}} {{.Description.Hostname}} {{index .Spec.Labels "pcc.host"}}' "$id" 2>/dev/null)`,
    '      [ "$1" = down ] && [ $((now - $2)) -ge "$grace" ] || continue',
    `      docker node ps --format '{{.CurrentState}}' "$id" 2>/dev/null | grep -qE '^(Assigned|Accepted|Preparing|Starting|Running)' || continue`,
    `      echo "$id \${4:-\${3:-$id}} $now" >> ${LOST_NODES_FILE}`,
    '      docker node rm --force "$id" >/dev/null',
    '    done',
    '  fi',
    '  sleep 10',
    'done',
    '',
  ].join('\n');
}

export function reaperUnit(): string {
  return [
    '[Unit]',
    'Description=pcc: free job tasks of swarm nodes that went down',
    'After=docker.service',
    'Wants=docker.service',
    '',
    '[Service]',
    `ExecStart=/bin/sh ${REAPER_SCRIPT_PATH}`,
    'Restart=always',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** For the controller's playbook: the reaper script and its service. */
export function jobReaperOps(host: HostContext): void {
  host.add(ops.directory('/etc/pcc'));
  const script = ops.file(REAPER_SCRIPT_PATH, { content: reaperScript(), mode: '0755' });
  host.add(script);
  host.add(ops.systemdUnit(REAPER_UNIT, { content: reaperUnit(), restartAfter: [script] }));
}
