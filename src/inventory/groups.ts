import { CONTROLLER_GROUP } from '../core/controller.js';
import type { HostRecord } from '../state/schema.js';

/**
 * The groups a host is in: the one list that patterns, `pcc hosts`,
 * `pcc status`, the ssh aliases, the variable files and the inventory export
 * all read. A compute host is always in its provider's group. The controller
 * is not: a provider pattern (`local`, `vagrant`) means the compute hosts, so
 * that `pcc exec local` or `pcc sync down local` never reaches the controller
 * by accident; it is reached by its name (`init`) or its group (`controller`).
 * Its own name is no group of its own either (records from before this rule
 * still list it).
 */
export function hostGroups(h: HostRecord): string[] {
  if (isControllerRecord(h)) return h.groups.filter((g) => g !== h.provider && g !== h.name);
  return h.groups.includes(h.provider) ? h.groups : [h.provider, ...h.groups];
}

/** The controller is the host in the controller group, whichever provider runs it. */
export function isControllerRecord(h: Pick<HostRecord, 'groups'>): boolean {
  return h.groups.includes(CONTROLLER_GROUP);
}
