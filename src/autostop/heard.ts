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
export const TOUCH_HEARD = `[ ! -d ${AUTOSTOP_RUN_DIR} ] || touch ${HEARD_FILE} 2>/dev/null || :`;
