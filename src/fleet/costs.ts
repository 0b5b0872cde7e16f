import { OperationRefusedError } from '../core/errors.js';
import type { HostStatus, HourlyPrice, Provider, ProviderContext } from '../providers/types.js';
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

/** What a plan adds to the hourly bill: `count` hosts of one kind at one price (undefined: no known price). */
export interface PlannedCost {
  what: string;
  count: number;
  usdPerHour: number | undefined;
  /** The saved hosts it stands for (resume). */
  hosts?: string[];
}

interface CapCheck {
  command: 'acquire' | 'resume';
  /** What the plan adds, priced only when there is a cap (pricing may ask AWS). */
  price(): Promise<PlannedCost[]>;
  /** How to get under the cap. */
  fewer: string;
  /** How to do without what has no known price. */
  unpricedFix(unpriced: readonly PlannedCost[]): string;
}

/**
 * The spend cap: refuses a plan that would take the project's running hosts
 * above PCC_MAX_USD_PER_HOUR, before any step runs. What the plan adds is
 * priced by the provider; what runs now comes from status. An unknown price,
 * of what the plan adds or of something running, is refused too: the cap
 * cannot be kept without it. Acquire and resume differ only in what they add
 * and in the fix they suggest.
 */
async function checkSpendCap(check: CapCheck, ctx: ProviderContext, running: () => Promise<HostStatus[]>): Promise<void> {
  const cap = ctx.settings.values.PCC_MAX_USD_PER_HOUR;
  if (cap === undefined) return;
  const adds = (await check.price()).filter((a) => a.count > 0);
  if (adds.length === 0) return;
  const where = `PCC_MAX_USD_PER_HOUR=${cap.toFixed(2)} (${ctx.settings.origin.PCC_MAX_USD_PER_HOUR ?? 'config/pcc.env'})`;
  const unknown = adds.filter((a) => a.usdPerHour === undefined);
  if (unknown.length > 0) {
    throw new OperationRefusedError(`${check.command} refused: no known price for ${unknown.map((a) => a.what).join(', ')}, so ${where} cannot be kept; ${check.unpricedFix(unknown)}`);
  }
  const now = summarize(await running());
  if (now.atLeast) {
    throw new OperationRefusedError(
      `${check.command} refused: no known price for ${now.unpriced.join(', ')} (running now), so ${where} cannot be kept; release those hosts, or unset the cap`,
    );
  }
  const after = adds.reduce((sum, a) => sum + a.count * a.usdPerHour!, now.usdPerHour);
  if (after > cap + 1e-9) {
    const parts = adds.map((a) => `${a.count} × ${a.what} at $${a.usdPerHour!.toFixed(3)}/h`).join(' + ');
    throw new OperationRefusedError(
      `${check.command} would take this project to $${after.toFixed(2)}/h, above ${where}; ${check.fewer} (${parts}, $${now.usdPerHour.toFixed(3)}/h running now)`,
    );
  }
}

/** How many hosts an acquire's plan brings up: every host it starts or creates is one more of the spec (planAcquire starts only hosts of the spec). */
function hostsAdded(plan: readonly Step[]): number {
  return plan.reduce((n, s) => n + (s.op === 'create' ? s.count : s.op === 'start' ? s.hosts.length : 0), 0);
}

/** What one more host of the spec costs, as the provider says (no priceOf: unknown). */
export function priceOfSpec<D>(provider: Provider<D>, spec: Spec<D>, ctx: ProviderContext): Promise<HourlyPrice> {
  return provider.priceOf ? provider.priceOf(spec, ctx) : Promise.resolve({ usdPerHour: undefined });
}

/** acquire's cap: what the plan brings up, at the spec's price (`priced`, asked once per acquire), plus what runs. */
export function checkAcquireCap<D>(
  spec: Spec<D>,
  plan: readonly Step[],
  ctx: ProviderContext,
  running: () => Promise<HostStatus[]>,
  priced: () => Promise<HourlyPrice>,
): Promise<void> {
  const more = hostsAdded(plan);
  return checkSpendCap(
    {
      command: 'acquire',
      price: async () => (more === 0 ? [] : [{ what: spec.label, count: more, usdPerHour: (await priced()).usdPerHour }]),
      fewer: 'raise it or ask for fewer',
      unpricedFix: () => 'choose an instance type with a known price, or unset the cap',
    },
    ctx,
    running,
  );
}

/** resume: each saved host it starts, at what its provider says it costs once running, grouped by instance type and price. */
export function checkResumeCap<D>(provider: Provider<D>, plan: readonly Step[], ctx: ProviderContext, running: () => Promise<HostStatus[]>): Promise<void> {
  const names = plan.flatMap((s) => (s.op === 'start' ? s.hosts : []));
  return checkSpendCap(
    {
      command: 'resume',
      async price() {
        const state = await ctx.state.read();
        const groups = new Map<string, { kind: string; hosts: string[]; usdPerHour: number | undefined }>();
        for (const name of names) {
          const host = state.hosts[name];
          const usdPerHour = host && provider.priceOfHost ? await provider.priceOfHost(host, ctx) : undefined;
          const kind = host?.instanceType ?? provider.name;
          const key = `${kind}|${usdPerHour}`;
          const g = groups.get(key) ?? { kind, hosts: [], usdPerHour };
          g.hosts.push(name);
          groups.set(key, g);
        }
        return [...groups.values()].map((g) => ({ what: `${g.kind} (${g.hosts.join(', ')})`, count: g.hosts.length, usdPerHour: g.usdPerHour, hosts: g.hosts }));
      },
      fewer: 'raise it, or pcc release the saved hosts you can do without',
      unpricedFix: (unpriced) => `pcc release ${unpriced.flatMap((a) => a.hosts ?? []).join(' ')}, or unset the cap`,
    },
    ctx,
    running,
  );
}

/**
 * What an acquire is about to spend, shown before it launches (and by
 * --dry): the hosts it brings up at the provider's price, with the price's
 * source and date, and the project's hourly total now and after. The same
 * source as the spend cap and pcc status.
 */
export interface AcquirePrice {
  /** What each host is (`g5.xlarge gpu in us-east-1`). */
  what: string;
  /** Hosts the plan starts or creates. */
  count: number;
  /** Per host, USD per hour; undefined: no known price. */
  usdPerHour: number | undefined;
  /** Where the price comes from, with its date. */
  source?: string;
  /** The project's running hosts, per hour, now and with these added (lower bounds where `atLeast`). */
  nowUsdPerHour: number;
  afterUsdPerHour: number;
  /** Some price, of these hosts or of what runs, is unknown: the totals are lower bounds. */
  atLeast: boolean;
  /** What has no known price. */
  unpriced: string[];
}

/** The price of an acquire's plan; undefined when it brings nothing up, or only hosts that cost nothing (local, Vagrant). */
export async function priceAcquire<D>(
  spec: Spec<D>,
  plan: readonly Step[],
  running: () => Promise<HostStatus[]>,
  priced: () => Promise<HourlyPrice>,
): Promise<AcquirePrice | undefined> {
  const count = hostsAdded(plan);
  if (count === 0) return undefined;
  const { usdPerHour, source } = await priced();
  if (usdPerHour === 0) return undefined;
  const now = summarize(await running());
  const unpriced = [...now.unpriced, ...(usdPerHour === undefined ? [spec.label] : [])];
  return {
    what: spec.label,
    count,
    usdPerHour,
    ...(source ? { source } : {}),
    nowUsdPerHour: now.usdPerHour,
    afterUsdPerHour: now.usdPerHour + count * (usdPerHour ?? 0),
    atLeast: unpriced.length > 0,
    unpriced,
  };
}

/** `price: 1 × g5.xlarge gpu in us-east-1 at $1.006/h each (pcc's shipped us-east-1 table of 2026-11-22); this project: $0.000/h now, $1.006/h after` */
export function describeAcquirePrice(p: AcquirePrice): string {
  const each = p.usdPerHour === undefined ? ': no known price' : ` at $${p.usdPerHour.toFixed(3)}/h each${p.source ? ` (${p.source})` : ''}`;
  const after = `${p.atLeast ? 'at least ' : ''}$${p.afterUsdPerHour.toFixed(3)}/h after${p.atLeast ? ` (no known price for ${p.unpriced.join(', ')})` : ''}`;
  return `price: ${p.count} × ${p.what}${each}; this project: $${p.nowUsdPerHour.toFixed(3)}/h now, ${after}`;
}

/** On a terminal pcc asks before an acquire whose new total passes the threshold (PCC_CONFIRM_USD_PER_HOUR); an unknown total passes it. */
export function passesConfirmThreshold(p: AcquirePrice, threshold: number): boolean {
  return p.atLeast || p.afterUsdPerHour > threshold + 1e-9;
}
