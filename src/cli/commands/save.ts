import { save } from '../../fleet/lifecycle.js';
import type { CliContext } from '../context.js';

export default async function saveCommand(args: { provider: string; snapshot: boolean; halt: boolean }, ctx: CliContext): Promise<number> {
  const hosts = await save(args.provider, { snapshot: args.snapshot, halt: args.halt }, ctx.core());
  if (ctx.json) ctx.emitJson({ saved: hosts });
  else ctx.out(hosts.length ? `saved: ${hosts.map((h) => `${h.name} (${h.status ?? 'saved'})`).join(', ')}` : `no ${args.provider} hosts to save`);
  if (hosts.length) ctx.next([`pcc resume ${args.provider}`]);
  return 0;
}
