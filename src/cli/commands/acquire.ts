import { acquire } from '../../fleet/lifecycle.js';
import { parseVolumeFlag } from '../../fleet/volumes.js';
import type { AcquireRequest } from '../../providers/types.js';
import type { CliContext } from '../context.js';
import { refuseForeignFlags } from '../provider-flags.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../table.js';

interface Args extends Omit<AcquireRequest, 'volume'> {
  provider: string;
  volume?: string;
  dry: boolean;
}

export default async function acquireCommand(args: Args, ctx: CliContext): Promise<number> {
  refuseForeignFlags(args.provider, args as unknown as Record<string, unknown>, 'acquireOptions');
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
    ctx.core({ dry: args.dry }),
  );
  if (ctx.json) ctx.emitJson(outcome);
  else if (!args.dry) {
    ctx.out(table(['name', 'address', 'groups', 'status'], outcome.hosts.map((h) => [h.name, `${h.address}:${h.port}`, h.groups.join(','), h.status])));
    if (outcome.volume) ctx.out(`volume ${outcome.volume.name} attached to ${outcome.volume.attachedTo} at ${outcome.volume.mountPoint}`);
    if (outcome.aliases.length) ctx.out(`ssh aliases: ${outcome.aliases.join(' ')}`);
  }
  for (const u of outcome.unreachable) ctx.err(`${u.host}: not reachable over ssh yet: ${u.error}`);
  if (!args.dry && outcome.hosts.length) {
    ctx.next([`pcc setup ${args.provider}`, `pcc exec ${args.provider} -- uptime`, `pcc save ${args.provider}  (or pcc destroy ${args.provider})`]);
  }
  return outcome.unreachable.length ? EXIT.unreachable : EXIT.ok;
}
