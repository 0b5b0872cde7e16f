import { partition } from '@aws-sdk/core/client';
import { PccError } from '../../core/errors.js';
import { closestKey } from '../../settings/load.js';
import type { ProviderContext } from '../types.js';
import { bookkeeping } from './record.js';

/**
 * Whether the AWS SDK's own region list (the one it resolves endpoints from)
 * names `region`: a typo like us-eats-1 is refused before pcc records it or
 * asks AWS anything, so it can never poison the state.
 */
export function isKnownRegion(region: string): boolean {
  // The SDK gives a region's description only when the region is listed; the rest it only guesses by pattern.
  return (partition(region) as { description?: string }).description !== undefined;
}

/** Refuses an unknown region with where it came from and the closest known one. */
export function checkRegion(region: string, from: string): void {
  if (isKnownRegion(region)) return;
  const hint = closestKey(region, knownRegionNames());
  throw new PccError(`${from}: ${region} is not an AWS region${hint ? `; did you mean ${hint}?` : '; e.g. us-east-1 or eu-west-1'}`);
}

/** Where a region to acquire in came from: --region, or EC2_REGION's file. */
export function regionSource(ctx: ProviderContext, flag: string | undefined): string {
  if (flag !== undefined) return '--region';
  return `${ctx.settings.origin.EC2_REGION ?? 'the default'} (EC2_REGION)`;
}

/**
 * Regions recorded by a pcc that did not check them (or damaged by hand) are
 * dropped with a line saying so: nothing can exist there, and keeping them
 * would fail every later save, status and destroy.
 */
export async function dropUnknownRegions(ctx: ProviderContext): Promise<void> {
  const state = await ctx.state.read();
  const recorded = bookkeeping(state).regions;
  const hostRegions = Object.values(state.hosts).flatMap((h) => (h.provider === 'ec2' && h.region ? [h.region] : []));
  const bad = [...new Set([...recorded, ...hostRegions])].filter((r) => !isKnownRegion(r));
  if (bad.length === 0 || ctx.dry) return;
  await ctx.state.update((s) => {
    const book = bookkeeping(s);
    s.providers.ec2 = { ...book, regions: book.regions.filter((r) => !bad.includes(r)) };
    for (const [name, h] of Object.entries(s.hosts)) {
      if (h.provider === 'ec2' && h.region && bad.includes(h.region)) delete s.hosts[name];
    }
  });
  ctx.progress.warn(`ec2: removed ${bad.join(', ')} from .pcc/state.json: not an AWS region, so nothing of this project can be there`);
}

function knownRegionNames(): string[] {
  // Every commercial region the SDK lists, by probing its own table for the common prefixes.
  const prefixes = ['us', 'eu', 'ap', 'sa', 'ca', 'me', 'af', 'il', 'mx'];
  const areas = ['east', 'west', 'north', 'south', 'central', 'northeast', 'southeast', 'northwest', 'southwest'];
  const out: string[] = [];
  for (const p of prefixes) for (const a of areas) for (let n = 1; n <= 9; n++) if (isKnownRegion(`${p}-${a}-${n}`)) out.push(`${p}-${a}-${n}`);
  return out;
}
