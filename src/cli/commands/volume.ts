import { UsageError } from '../../core/errors.js';
import { createVolume, listVolumes, removeVolume } from '../../fleet/volumes.js';
import type { CliContext } from '../context.js';
import { confirmRemoval } from '../confirm.js';
import { quote } from '../../remote/shell.js';
import { table } from '../table.js';

interface Args {
  action: 'create' | 'ls' | 'rm';
  name?: string;
  size?: number;
  provider: string;
  dry: boolean;
  yes: boolean;
}

/** Data volumes that outlive hosts: create, ls, rm (refused while attached). */
export default async function volume(args: Args, ctx: CliContext): Promise<number> {
  const core = ctx.core({ dry: args.dry });
  if (args.action === 'ls') {
    const rows = await listVolumes(core);
    if (ctx.json) ctx.emitJson(rows);
    else if (rows.length === 0) ctx.out('no volumes; pcc volume create NAME --size GiB makes one');
    else
      ctx.out(
        table(
          ['name', 'provider', 'size', 'attached to', 'id', '$/month'],
          rows.map((r) => [r.name, r.provider, `${r.sizeGiB} GiB`, r.attachedTo ? `${r.attachedTo}:${r.mountPoint}` : '-', r.providerId ?? '-', r.usdPerMonth.toFixed(2)]),
        ),
      );
    return 0;
  }
  if (args.name === undefined) throw new UsageError(`pcc volume ${args.action} needs NAME, e.g. pcc volume ${args.action} data${args.action === 'create' ? ' --size 100' : ''}`);
  if (args.action === 'create') {
    if (args.size === undefined) throw new UsageError('pcc volume create needs --size GiB, e.g. --size 100');
    const v = await createVolume(args.name, { sizeGiB: args.size, provider: args.provider }, core);
    if (ctx.json) ctx.emitJson(v);
    else if (!args.dry) ctx.out(`created volume ${v.name} (${v.provider}, ${v.sizeGiB} GiB${v.providerId ? `, ${v.providerId}` : ''})`);
    ctx.next([ctx.pcc`acquire ${v.provider} --volume ${`${v.name}:/data`}`]);
    return 0;
  }
  if (!args.dry && !args.yes) {
    const plan = await removeVolume(args.name, ctx.core({ dry: true }));
    if (!(await confirmRemoval(plan, `pcc volume rm ${quote(args.name)}`, false, ctx))) return 1;
  }
  const removed = await removeVolume(args.name, core);
  if (ctx.json) ctx.emitJson({ removed });
  else for (const line of removed) ctx.out(args.dry ? line : `removed ${line}`);
  return 0;
}
