import { UserInputError } from '../../core/errors.js';
import { addStaticHost, removeStaticHost } from '../../fleet/static-hosts.js';
import { hostGroups, naturalCompare } from '../../inventory/pattern.js';
import type { CliContext } from '../context.js';
import { table } from '../table.js';

interface Args {
  action: 'list' | 'add' | 'rm';
  name?: string;
  target?: string;
  key?: string;
  group: string[];
}

export default async function hosts(args: Args, ctx: CliContext): Promise<number> {
  if (args.action === 'add') {
    if (!args.name || !args.target) throw new UserInputError('usage: pcc hosts add NAME user@address[:port] [--key FILE] [--group G]');
    const host = await addStaticHost(ctx.core(), { name: args.name, target: args.target, key: args.key, groups: args.group });
    if (ctx.json) ctx.emitJson(host);
    else ctx.out(`added ${host.name} (${host.user}@${host.address}:${host.port})`);
    ctx.next([`ssh ${host.name}`, `pcc setup ${host.name}`]);
    return 0;
  }
  if (args.action === 'rm') {
    if (!args.name) throw new UserInputError('usage: pcc hosts rm NAME');
    await removeStaticHost(ctx.core(), args.name);
    if (ctx.json) ctx.emitJson({ removed: args.name });
    else ctx.out(`removed ${args.name}`);
    return 0;
  }
  const all = Object.values((await ctx.state().read()).hosts).sort((a, b) => naturalCompare(a.name, b.name));
  if (ctx.json) {
    ctx.emitJson(all);
    return 0;
  }
  if (all.length === 0) {
    ctx.out('no hosts yet; add some with pcc acquire local|vagrant|ec2, or pcc hosts add NAME user@address');
    return 0;
  }
  ctx.out(
    table(
      ['name', 'provider', 'address', 'user', 'groups', 'created'],
      all.map((h) => [h.name, h.provider, `${h.address}:${h.port}`, h.user, hostGroups(h).join(','), h.createdAt.slice(0, 19).replace('T', ' ')]),
    ),
  );
  return 0;
}
