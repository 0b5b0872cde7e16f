import path from 'node:path';
import { errorMessage } from '../../core/errors.js';
import { readIfExists, writeOwnedFile } from '../../core/files.js';
import type { ProviderContext } from '../types.js';
import type { AwsClients } from './clients.js';
import { fetchOnDemandPrice, priceListAllowed, type AwsIdentity } from './price-list.js';
import { ON_DEMAND_TABLE_DATE, ON_DEMAND_TABLE_REGION, onDemandPrice } from './prices.js';

/** An hourly price and where it came from, with its date. `usdPerHour` undefined: no known price. */
export interface Priced {
  usdPerHour?: number;
  source: string;
}

/** A Price List answer is used for this long before it is asked again. */
export const PRICE_CACHE_DAYS = 7;

interface PriceCache {
  region: string;
  /** Per instance type: the Price List's hourly price (null: it has none) and when it was fetched. */
  types: Record<string, { usdPerHour: number | null; fetchedAt: string }>;
}

export function priceCacheFile(ctx: Pick<ProviderContext, 'project'>, region: string): string {
  return path.join(ctx.project.stateDir, 'cache', 'prices', `ec2-on-demand-${region}.json`);
}

/**
 * On-demand prices for instance types in the clients' region: from
 * `.pcc/cache/prices/` while younger than PRICE_CACHE_DAYS, else from the
 * Price List API (then cached with its date), else from the shipped table,
 * which says its date. A type none of them knows has no price.
 */
export async function onDemandPrices(aws: AwsClients, ctx: ProviderContext, types: readonly string[], now = new Date()): Promise<Map<string, Priced>> {
  const region = aws.region;
  const file = priceCacheFile(ctx, region);
  const cache = await readCache(file, region);
  const out = new Map<string, Priced>();
  let live = priceListAllowed();
  let identity: AwsIdentity | undefined;
  let changed = false;
  for (const type of [...new Set(types)].sort()) {
    let entry = cache.types[type];
    const fresh = entry && now.getTime() - Date.parse(entry.fetchedAt) < PRICE_CACHE_DAYS * 86_400_000;
    if (!fresh && live) {
      try {
        identity ??= await aws.ec2.config.credentials();
        const usd = await fetchOnDemandPrice(type, region, identity);
        entry = { usdPerHour: usd ?? null, fetchedAt: now.toISOString() };
        cache.types[type] = entry;
        changed = true;
      } catch (err) {
        // One failure is enough to know: the rest come from the cache or the table.
        live = false;
        ctx.progress.warn(`prices: the AWS Price List API did not answer (${errorMessage(err)}); using cached or shipped prices`);
      }
    }
    out.set(type, priced(type, region, entry));
  }
  if (changed && !ctx.dry) await writeOwnedFile(file, `${JSON.stringify(cache, null, 2)}\n`, { durable: false });
  return out;
}

function priced(type: string, region: string, entry: PriceCache['types'][string] | undefined): Priced {
  if (entry?.usdPerHour != null) return { usdPerHour: entry.usdPerHour, source: `AWS Price List (${region}), fetched ${entry.fetchedAt.slice(0, 10)}` };
  const table = onDemandPrice(type);
  if (table === undefined) return { source: 'unknown' };
  const where = region === ON_DEMAND_TABLE_REGION ? '' : `${ON_DEMAND_TABLE_REGION} `;
  return { usdPerHour: table, source: `pcc's shipped ${where}table of ${ON_DEMAND_TABLE_DATE}` };
}

async function readCache(file: string, region: string): Promise<PriceCache> {
  const text = await readIfExists(file);
  if (text) {
    try {
      const parsed = JSON.parse(text) as PriceCache;
      if (parsed.region === region && parsed.types && typeof parsed.types === 'object') return parsed;
    } catch {
      // A torn or foreign cache is only a cache: ask again.
    }
  }
  return { region, types: {} };
}
