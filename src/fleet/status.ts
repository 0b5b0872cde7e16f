import { errorMessage } from '../core/errors.js';
import { loadProvider } from '../providers/index.js';
import { providerEntry } from '../providers/registry.js';
import type { HostStatus, ProviderContext, ProviderName, StorageCost } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { naturalCompare } from '../core/natural-order.js';
import { siteOf } from '../network/reach.js';
import { hostGroups } from '../inventory/groups.js';
import { withSpend } from './costs.js';

/**
 * What runs and what it costs, read from the providers: `pcc status` loads
 * this and not the lifecycle, so it starts without SSH or the reconciler.
 */

/** The providers that have hosts in the state, in a stable order. */
export function providersOf(hosts: readonly HostRecord[]): ProviderName[] {
  return [...new Set(hosts.map((h) => h.provider))].sort();
}

/** Live status of every provider that has hosts in the state. */
export async function status(ctx: ProviderContext): Promise<HostStatus[]> {
  const state = await ctx.state.read();
  const names = providersOf(Object.values(state.hosts));
  const rows: HostStatus[] = [];
  for (const name of names) {
    const provider = await loadProvider(name);
    try {
      // By name within a provider, as pcc hosts lists them (a provider answers in the state's order, which re-adding changes).
      rows.push(...(await provider.status(ctx)).sort((a, b) => naturalCompare(a.name, b.name)));
    } catch (err) {
      ctx.progress.warn(`${name}: status unavailable: ${errorMessage(err)}`);
      // A host that may be running where it costs money, and whose state cannot be read, has no known price either.
      const paid = providerEntry(name)?.costsMoney === true;
      for (const h of Object.values(state.hosts).filter((x) => x.provider === name)) {
        rows.push({ name: h.name, provider: h.provider, state: 'unknown', address: h.address, groups: h.groups, ...(paid ? { unpriced: `${h.name} (state unknown)` } : {}) });
      }
    }
  }
  // Where each host sits and its groups are pcc's own knowledge, the same for every provider (and as pcc hosts shows them).
  return withSpend(rows).map((r) => {
    const h = state.hosts[r.name];
    return { ...r, site: h ? siteOf(h) : undefined, ...(h ? { groups: hostGroups(h) } : {}) };
  });
}

/** What the project stores without a host (AMIs, snapshots), per provider that has hosts in the state; one that cannot be read costs a warning. */
export async function storageCosts(ctx: ProviderContext): Promise<StorageCost[]> {
  const names = providersOf(Object.values((await ctx.state.read()).hosts));
  const out: StorageCost[] = [];
  for (const name of names) {
    const provider = await loadProvider(name);
    try {
      out.push(...((await provider.storageCosts?.(ctx)) ?? []));
    } catch (err) {
      ctx.progress.warn(`${name}: snapshot and AMI costs unavailable: ${errorMessage(err)}`);
    }
  }
  return out;
}
