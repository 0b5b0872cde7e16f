import { errorMessage } from '../../core/errors.js';
import { CONTROLLER } from '../../fleet/cluster.js';
import { status } from '../../fleet/lifecycle.js';
import type { JobView } from '../../jobs/swarm-view.js';
import type { CliContext } from '../context.js';
import { table } from '../table.js';

export default async function statusCommand(_args: unknown, ctx: CliContext): Promise<number> {
  const rows = await status(ctx.core());
  const total = rows.reduce((sum, r) => sum + (r.state === 'running' ? (r.usdPerHour ?? 0) : 0), 0);
  const jobs = rows.some((r) => r.name === CONTROLLER && r.state === 'running') ? await runningJobs(ctx) : [];
  if (ctx.json) {
    ctx.emitJson({ hosts: rows, usdPerHour: round(total), jobs });
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
  if (jobs.length > 0) {
    ctx.out('');
    ctx.out(
      table(
        ['job', 'image', 'done', 'running', 'failed', 'pending', 'hosts'],
        jobs.map((j) => [j.name, j.image, j.counts.done, j.counts.running, j.counts.failed, j.counts.pending + j.counts.lost, j.hosts.join(',') || undefined]),
      ),
    );
  }
  return 0;
}

/** Unfinished jobs on the swarm; a swarm that cannot be read costs a warning, never the host table. */
async function runningJobs(ctx: CliContext): Promise<JobView[]> {
  const { withManager, listJobs, NoSwarmError } = await import('../../jobs/manager.js');
  try {
    const views = await withManager({ project: ctx.project, settings: ctx.settings(), state: ctx.state() }, (m) => listJobs(m));
    return views.filter((v) => !v.finished);
  } catch (err) {
    if (!(err instanceof NoSwarmError)) ctx.progress().warn(`jobs unavailable: ${errorMessage(err)}`);
    return [];
  }
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
