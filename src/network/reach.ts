import type { HostRecord } from '../state/schema.js';

/**
 * Who can open a connection to whom, from the host records alone. The one
 * place that reads a record's `site`, `dialable` and `siteAddress`, and their
 * defaults: a host pcc knows nothing more about sits at home, behind NAT.
 */
export const HOME_SITE = 'home';

export function siteOf(host: Pick<HostRecord, 'site'>): string {
  return host.site ?? HOME_SITE;
}

export function isDialable(host: Pick<HostRecord, 'dialable'>): boolean {
  return host.dialable ?? false;
}

/** Where hosts of the same site open connections to this one. */
export function siteAddressOf(host: Pick<HostRecord, 'address' | 'siteAddress'>): string {
  return host.siteAddress ?? host.address;
}
