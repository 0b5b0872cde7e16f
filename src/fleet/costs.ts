import { OperationRefusedError } from '../core/errors.js';
import type { HostStatus, Provider, ProviderContext } from '../providers/types.js';
import type { Spec, Step } from './reconcile.js';

/**
 * What the project costs, written once above the providers: the hourly total
 * of what runs (a lower bound where some price is unknown), the spend since
 * each host started, and the spend cap an acquire must stay under.
 */

export interface CostSummary {
  /** The sum of the known hourly prices of what runs. */
  usdPerHour: number;
  /** Some billed host has no known price: the total is a lower bound. */
  atLeast: boolean;
  /** What has no known price (instance types, or hosts whose state is unknown). */
  unpriced: string[];
  /** Disks of stopped hosts, snapshots and AMIs, per month. */
  storageUsdPerMonth: number;
}

export const BILLED_STATES = new Set(['running', 'pending']);

/** Price × running time since the host started, where both are known. */
export function withSpend(rows: readonly HostStatus[], now = Date.now()): HostStatus[] {
  return rows.map((r) => {
    if (r.usdPerHour === undefined || !r.since || !BILLED_STATES.has(r.state)) return r;
    const hours = Math.max(0, now - Date.parse(r.since)) / 3_600_000;
    return { ...r, spentUsd: r.usdPerHour * hours };
  });
}

export function summarize(rows: readonly HostStatus[], storage: readonly { usdPerMonth: number }[] = []): CostSummary {
  let usdPerHour = 0;
  const unpriced = new Set<string>();
  for (const r of rows) {
    if (r.unpriced) unpriced.add(r.unpriced);
    else if (BILLED_STATES.has(r.state)) usdPerHour += r.usdPerHour ?? 0;
  }
  const storageUsdPerMonth = rows.reduce((s, r) => s + (r.usdPerMonth ?? 0), 0) + storage.reduce((s, c) => s + c.usdPerMonth, 0);
  return { usdPerHour, atLeast: unpriced.size > 0, unpriced: [...unpriced].sort(), storageUsdPerMonth };
}

/** `$1.234/h`, or `at least $1.234/h (no price for t9.nano)`. */
export function describeTotal(c: CostSummary): string {
  const figure = `$${c.usdPerHour.toFixed(3)}/h`;
  return c.atLeast ? `at least ${figure} (no known price for ${c.unpriced.join(', ')})` : figure;
}

/**
 * The spend cap: refuses a plan that would take the project's running hosts
 * above PCC_MAX_USD_PER_HOUR, before any step runs. Every host the plan
 * starts or creates is one more of the spec (planAcquire starts only hosts
 * of the spec), priced by the provider; what runs now comes from status.
 * An unknown price, of the spec or of something running, is refused too:
 * the cap cannot be kept without it.
 */
export async function checkSpendCap<D>(
  provider: Provider<D>,
  spec: Spec<D>,
  plan: readonly Step[],
  ctx: ProviderContext,
  running: () => Promise<HostStatus[]>,
): Promise<void> {
  const cap = ctx.settings.values.PCC_MAX_USD_PER_HOUR;
  if (cap === undefined) return;
  const more = plan.reduce((n, s) => n + (s.op === 'create' ? s.count : s.op === 'start' ? s.hosts.length : 0), 0);
  if (more === 0) return;
  const where = `PCC_MAX_USD_PER_HOUR=${cap.toFixed(2)} (${ctx.settings.origin.PCC_MAX_USD_PER_HOUR ?? 'config/pcc.env'})`;
  const each = provider.priceOf ? await provider.priceOf(spec, ctx) : undefined;
  if (each === undefined) {
    throw new OperationRefusedError(
      `acquire refused: no known price for ${spec.label}, so ${where} cannot be kept; choose an instance type with a known price, or unset the cap`,
    );
  }
  const now = summarize(await running());
  if (now.atLeast) {
    throw new OperationRefusedError(
      `acquire refused: no known price for ${now.unpriced.join(', ')} (running now), so ${where} cannot be kept; release those hosts, or unset the cap`,
    );
  }
  const after = now.usdPerHour + more * each;
  if (after > cap + 1e-9) {
    throw new OperationRefusedError(
      `acquire would take this project to $${after.toFixed(2)}/h, above ${where}; raise it or ask for fewer (${more} × ${spec.label} at $${each.toFixed(3)}/h, $${now.usdPerHour.toFixed(3)}/h running now)`,
    );
  }
}
