import { acquire } from '../../fleet/lifecycle.js';
import { parseVolumeFlag } from '../../fleet/volumes.js';
import type { AcquireRequest } from '../../providers/types.js';
import type { CliContext } from '../context.js';
import { refuseForeignFlags } from '../provider-flags.js';
import { EXIT, exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';
import { describeSetting, parseMinutes } from '../../autostop/setting.js';
import { applyAutostop, type AutostopOutcome } from '../../fleet/autostop.js';
import { table } from '../table.js';
import { passesConfirmThreshold, type AcquirePrice } from '../../fleet/costs.js';
import { UsageError } from '../../core/errors.js';
import type { Settings } from '../../settings/load.js';
import { canAsk, confirm } from '../confirm.js';
import type { CliProgress } from '../progress.js';

interface Args extends Omit<AcquireRequest, 'volume'> {
  provider: string;
  volume?: string;
  dry: boolean;
  autostop?: string;
  yes: boolean;
}

/**
 * The question before money is spent: the price line is already printed;
 * when the project's new total passes PCC_CONFIRM_USD_PER_HOUR, pcc asks
 * once on a terminal, and without one needs --yes (exit 2, nothing launched).
 */
export function approveOnTerminal(settings: Settings, yes: boolean, progress: CliProgress): (price: AcquirePrice) => Promise<boolean> {
  return async (price) => {
    const threshold = settings.values.PCC_CONFIRM_USD_PER_HOUR;
    if (yes || !passesConfirmThreshold(price, threshold)) return true;
    const total = `${price.atLeast ? 'at least ' : ''}$${price.afterUsdPerHour.toFixed(3)}/h`;
    const where = `PCC_CONFIRM_USD_PER_HOUR=${threshold.toFixed(2)} (${settings.origin.PCC_CONFIRM_USD_PER_HOUR ?? 'the default'})`;
    if (!canAsk()) throw new UsageError(`acquire would take this project to ${total}, above ${where}; run it on a terminal to confirm, or pass --yes; nothing launched`);
    // Below the price line, which the live view may still be drawing.
    await progress.settled();
    return confirm(`launch ${price.count} × ${price.what}, taking this project to ${total}? [y/N] `, 'nothing launched');
  };
}

export default async function acquireCommand(args: Args, ctx: CliContext): Promise<number> {
  refuseForeignFlags(args.provider, args as unknown as Record<string, unknown>, 'acquireOptions');
  // Checked before anything is made.
  const autostop = args.autostop === undefined ? undefined : { idleMinutes: parseMinutes(args.autostop, '--autostop'), down: false };
  const core = ctx.core({ dry: args.dry });
  const outcome = await acquire(
    args.provider,
    {
      type: args.type,
      count: args.count,
      instanceType: args.instanceType,
      spot: args.spot,
      region: args.region,
      ami: args.ami,
      site: args.site,
      ...(args.volume !== undefined ? { volume: parseVolumeFlag(args.volume) } : {}),
      wait: args.wait && !args.dry,
    },
    core,
    { approve: approveOnTerminal(core.settings, args.yes, ctx.progress()) },
  );
  if (outcome.declined) {
    ctx.err('nothing launched');
    return EXIT.error;
  }
  let applied: AutostopOutcome | undefined;
  if (autostop && !args.dry && outcome.hosts.length) {
    // After the hosts are up: the agent goes on where SSH answered; the others get it at pcc setup.
    const missed = new Set(outcome.unreachable.map((u) => u.host));
    const reached = outcome.hosts.filter((h) => args.wait && !missed.has(h.name));
    const later = outcome.hosts.filter((h) => !reached.includes(h));
    if (later.length) await applyAutostop(later, autostop, core, { install: false });
    if (reached.length) applied = await applyAutostop(reached, autostop, core, { install: true });
    for (const h of later) ctx.err(`${h.name}: autostop ${describeSetting(autostop)} recorded; the agent goes on at ${ctx.pcc`setup ${args.provider}`}`);
  }
  if (ctx.json) ctx.emitJson(applied ? { ...outcome, autostop: applied } : outcome);
  else if (!args.dry) {
    ctx.out(table(['name', 'address', 'groups', 'status'], outcome.hosts.map((h) => [h.name, `${h.address}:${h.port}`, h.groups.join(','), h.status])));
    if (outcome.volume) ctx.out(`volume ${outcome.volume.name} attached to ${outcome.volume.attachedTo} at ${outcome.volume.mountPoint}`);
    if (outcome.aliases.length) ctx.out(`ssh aliases: ${outcome.aliases.join(' ')}`);
  }
  for (const u of outcome.unreachable) ctx.err(`${u.host}: not reachable over ssh yet: ${u.error}`);
  if (!args.dry && outcome.hosts.length) {
    ctx.next([ctx.pcc`setup ${args.provider}`, ctx.pcc`exec ${args.provider} -- uptime`, `${ctx.pcc`save ${args.provider}`}  # or ${ctx.pcc`destroy ${args.provider}`}`]);
  }
  if (applied?.result && !ctx.json) ctx.out(renderRecap(applied.result));
  if (outcome.unreachable.length) return EXIT.unreachable;
  return applied?.result ? exitCodeForHosts(applied.result.hosts) : EXIT.ok;
}
