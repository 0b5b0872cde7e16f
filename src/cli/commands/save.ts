import { save } from '../../fleet/lifecycle.js';
import type { CliContext } from '../context.js';
import { refuseForeignFlags } from '../provider-flags.js';

export default async function saveCommand(args: { provider: string; snapshot?: boolean; halt?: boolean; dry: boolean }, ctx: CliContext): Promise<number> {
  refuseForeignFlags(args.provider, args as unknown as Record<string, unknown>, 'saveOptions');
  const hosts = await save(args.provider, { snapshot: args.snapshot, halt: args.halt }, ctx.core({ dry: args.dry }));
  if (ctx.json) ctx.emitJson({ saved: hosts });
  else if (!args.dry) ctx.out(hosts.length ? `saved: ${hosts.map((h) => `${h.name} (${h.status ?? 'saved'})`).join(', ')}` : `no running ${args.provider} hosts to save`);
  if (hosts.length && !args.dry) ctx.next([ctx.pcc`resume ${args.provider}`]);
  return 0;
}
