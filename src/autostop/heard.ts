import { asRoot } from '../remote/become.js';

/**
 * Where a host with pcc's autostop agent notes that pcc talked to it (the
 * agent's lease counts from this file's mtime). The folder is in /run, so a
 * boot clears it; it exists only where the agent runs, and elsewhere the
 * touch does nothing. pcc's connections (src/fleet/connect.ts) run this one
 * line before every shell session and command, so any pcc command that
 * reaches a host renews its lease.
 */
export const AUTOSTOP_RUN_DIR = '/run/pcc-autostop';
export const HEARD_FILE = `${AUTOSTOP_RUN_DIR}/heard`;

/**
 * The touch, as root: the agent keeps the file root's and 0644, so that no
 * other user on the host can renew the lease and keep it running. A login
 * user other than root touches it through `sudo -n`, as pcc becomes root
 * everywhere; a sudo that would ask fails quietly like a missing folder.
 */
export function touchHeard(user: string): string {
  return `[ ! -d ${AUTOSTOP_RUN_DIR} ] || ${asRoot(user, `touch ${HEARD_FILE}`)} 2>/dev/null || :`;
}
