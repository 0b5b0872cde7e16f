import { formatDuration } from '../../core/duration.js';
import { errorMessage } from '../../core/errors.js';
import { CONTROLLER } from '../../fleet/cluster.js';
import { describeSetting } from '../../autostop/setting.js';
import { autostopViews, type AutostopView } from '../../fleet/autostop-views.js';
import { describeTotal, summarize } from '../../fleet/costs.js';
import { status, storageCosts } from '../../fleet/status.js';
import { EXIT } from '../exit-codes.js';
import type { JobView } from '../../jobs/swarm-view.js';
import type { CliContext } from '../context.js';
import { fitLine, fitTable, terminalWidth, type Column } from '../table.js';

/**
 * The host table's columns, by what a narrow terminal keeps longest: name
 * and state always; then what it costs and where it is; the absolute start
 * time (uptime says it too) and monthly storage go first.
 */
const HOST_COLUMNS: Column[] = [
  { header: 'name' },
  { header: 'provider', drop: 7 },
  { header: 'site', drop: 5 },
  { header: 'state' },
  { header: 'up since', drop: 1 },
  { header: 'uptime', drop: 8 },
  { header: 'address', drop: 10 },
  { header: 'groups', drop: 3, minWidth: 12 },
  { header: '$/h', drop: 11 },
  { header: 'spent', drop: 4 },
  { header: '$/month', drop: 2 },
  { header: 'autostop', drop: 6 },
  { header: 'stops in', drop: 9 },
];

export default async function statusCommand(args: { wide?: boolean }, ctx: CliContext): Promise<number> {
  const core = ctx.core();
  const listed = await status(core);
  // The autostop agent's own figures where the host runs (one short command each), else its record's setting.
  const records = Object.values((await core.state.read()).hosts);
  const views = await autostopViews(records, new Set(listed.filter((r) => r.state === 'running').map((r) => r.name)), core);
  const rows = listed.map((r) => (views.has(r.name) ? { ...r, autostop: views.get(r.name)! } : r));
  // A host whose state could not be read (no credentials, no network): its state and price are unknown, and so is the total.
  const unread = rows.filter((r) => r.state === 'unknown');
  const storage = unread.length === 0 ? await storageCosts(core) : [];
  const cost = summarize(rows, storage);
  const code = unread.length > 0 ? EXIT.error : EXIT.ok;
  const jobs = rows.some((r) => r.name === CONTROLLER && r.state === 'running') ? await runningJobs(ctx) : [];
  if (ctx.json) {
    ctx.emitJson({
      hosts: rows.map((r) => (r.spentUsd === undefined ? r : { ...r, spentUsd: round(r.spentUsd) })),
      usdPerHour: round(cost.usdPerHour),
      usdPerHourAtLeast: cost.atLeast,
      unpriced: cost.unpriced,
      storage,
      storageUsdPerMonth: round(cost.storageUsdPerMonth),
      statesUnknown: unread.map((r) => r.name),
      jobs,
    });
    return code;
  }
  if (rows.length === 0) {
    const orphans = await taggedElsewhere(ctx);
    if (orphans) ctx.out(orphans);
    else ctx.out('nothing runs; start with pcc up, or pcc acquire local|vagrant|ec2');
    return 0;
  }
  const width = args.wide ? undefined : terminalWidth();
  const hosts = fitTable(
    HOST_COLUMNS,
    rows.map((r) => [
      r.name,
      r.provider,
      r.site,
      r.state,
      r.since?.slice(0, 19).replace('T', ' '),
      r.since && r.state === 'running' ? uptime(r.since) : undefined,
      r.address,
      r.groups.join(','),
      r.unpriced ? '?' : r.usdPerHour === undefined ? undefined : r.usdPerHour.toFixed(3),
      r.spentUsd === undefined ? undefined : `$${r.spentUsd.toFixed(2)}`,
      r.usdPerMonth === undefined ? undefined : r.usdPerMonth.toFixed(2),
      'autostop' in r ? describeSetting(r.autostop) : undefined,
      'autostop' in r && r.state === 'running' ? stopsIn(r.autostop) : undefined,
    ]),
    { width },
  );
  ctx.out(hosts.text);
  if (hosts.hidden.length > 0) ctx.out(fitLine(`(left out to fit: ${hosts.hidden.join(', ')}; ${ctx.pcc`status --wide`} shows all)`, width));
  if (unread.length > 0) {
    ctx.out(`total: unknown: the states and prices of ${unread.map((r) => r.name).join(', ')} cannot be read (see the warning above); fix that and run pcc status again`);
  } else {
    ctx.out(`total: ${describeTotal(cost)} for what is running`);
  }
  for (const s of storage) ctx.out(`stored: ${s.what}: $${s.usdPerMonth.toFixed(2)}/month`);
  if (cost.storageUsdPerMonth > 0) ctx.out(`storage: $${cost.storageUsdPerMonth.toFixed(2)}/month for stopped hosts' disks, snapshots and AMIs`);
  const sources = [...new Set(rows.flatMap((r) => (r.priceSource && r.usdPerHour ? [r.priceSource] : [])))];
  if (sources.length > 0) ctx.out(`prices: ${sources.join('; ')}`);
  if (jobs.length > 0) {
    ctx.out('');
    ctx.out(
      fitTable(
        [{ header: 'job' }, { header: 'image', minWidth: 12 }, { header: 'done' }, { header: 'running' }, { header: 'failed' }, { header: 'pending' }, { header: 'hosts', drop: 1 }],
        jobs.map((j) => [j.name, j.image, j.counts.done, j.counts.running, j.counts.failed, j.counts.pending + j.counts.lost, j.hosts.join(',') || undefined]),
        { width },
      ).text,
    );
  }
  return code;
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

/** `12m0s`, `busy (containers=1)`, `busy (ssh=1); 1h59m` with a lease, or nothing where the agent was not read. */
function stopsIn(v: AutostopView): string | undefined {
  if (v.source !== 'agent') return undefined;
  const left = v.stopsInSeconds === undefined ? undefined : duration(v.stopsInSeconds);
  return v.busy ? [`busy (${v.busy})`, left].filter(Boolean).join('; ') : left;
}

function uptime(since: string): string {
  return duration(Math.floor((Date.now() - Date.parse(since)) / 1000));
}

function duration(seconds: number): string {
  return formatDuration(seconds * 1000, 'uptime');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * No state, but maybe resources: after `.pcc/` was lost, EC2 may still hold
 * (and bill) this folder's instances. Asked only where AWS is configured.
 */
async function taggedElsewhere(ctx: CliContext): Promise<string | undefined> {
  const v = ctx.settings().values;
  if (!v.AWS_ACCESS_KEY_ID && !v.AWS_PROFILE && !process.env.AWS_ENDPOINT_URL_EC2) return undefined;
  try {
    const { discoverProjects } = await import('../../fleet/adopt.js');
    const { readProjectId } = await import('../../core/project.js');
    const id = readProjectId(ctx.project.stateDir);
    const { ADOPT_PROVIDERS } = await import('../../providers/registry.js');
    const mine = [];
    for (const provider of ADOPT_PROVIDERS) {
      for (const p of await discoverProjects(provider, ctx.core())) if (p.id === id || p.path === ctx.project.root) mine.push({ ...p, provider });
    }
    if (mine.length === 0) return undefined;
    return mine
      .map((p) => `no hosts in .pcc/state.json, but ${p.provider} has ${p.hosts} instance(s) tagged for this folder (project ${p.id}, ${p.unpriced.length ? `at least $${p.usdPerHour.toFixed(3)}/h, no known price for ${p.unpriced.join(', ')}` : `$${p.usdPerHour.toFixed(3)}/h`}); run pcc adopt ${p.id}`)
      .join('\n');
  } catch {
    return undefined;
  }
}
