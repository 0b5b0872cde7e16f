import { status } from '../../fleet/lifecycle.js';
import type { CliContext } from '../context.js';
import { table } from '../table.js';

export default async function statusCommand(_args: unknown, ctx: CliContext): Promise<number> {
  const rows = await status(ctx.core());
  const total = rows.reduce((sum, r) => sum + (r.state === 'running' ? (r.usdPerHour ?? 0) : 0), 0);
  if (ctx.json) {
    ctx.emitJson({ hosts: rows, usdPerHour: round(total) });
    return 0;
  }
  if (rows.length === 0) {
    ctx.out('nothing runs; start with pcc up, or pcc acquire local|vagrant|ec2');
    return 0;
  }
  ctx.out(
    table(
      ['name', 'provider', 'site', 'state', 'up since', 'uptime', 'address', 'groups', '$/h'],
      rows.map((r) => [
        r.name,
        r.provider,
        r.site,
        r.state,
        r.since?.slice(0, 19).replace('T', ' '),
        r.since && r.state === 'running' ? uptime(r.since) : undefined,
        r.address,
        r.groups.join(','),
        r.usdPerHour === undefined ? undefined : r.usdPerHour.toFixed(3),
      ]),
    ),
  );
  ctx.out(`total: $${total.toFixed(3)}/h for what is running`);
  return 0;
}

function uptime(since: string): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : `${m}m${s % 60}s`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
