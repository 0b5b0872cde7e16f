import { PccError } from '../../core/errors.js';
import type { JobRequest } from '../../jobs/spec.js';
import { lostSummary, taskCounts as counts, type JobView } from '../../jobs/swarm-view.js';
import type { CliContext } from '../context.js';
import { table } from '../table.js';

/** The flags of `pcc job run` are the request's own fields; the image and command come from positionals. */
interface JobArgs extends Omit<JobRequest, 'image' | 'command' | 'env'> {
  action: 'run' | 'ls' | 'logs' | 'wait' | 'rm';
  target?: string;
  /** One value, or an array when the flag is repeated. */
  env?: string | string[];
  wait: boolean;
  follow: boolean;
  task?: number;
  yes: boolean;
  '--'?: (string | number)[];
}

export default async function jobCommand(args: JobArgs, ctx: CliContext): Promise<number> {
  const { withManager, submitJob, listJobs, waitForJob, jobLogs, removeJob } = await import('../../jobs/manager.js');
  const jobCtx = { project: ctx.project, settings: ctx.settings(), state: ctx.state() };
  const needName = () => {
    if (!args.target) throw new PccError(`pcc job ${args.action} needs a job name; see pcc job ls`);
    return args.target;
  };

  switch (args.action) {
    case 'run': {
      if (!args.target) throw new PccError('no image given; write: pcc job run IMAGE [-- COMMAND...]');
      const request: JobRequest = {
        name: args.name,
        image: args.target,
        command: (args['--'] ?? []).map(String),
        replicas: args.replicas,
        parallel: args.parallel,
        on: args.on,
        gpus: args.gpus,
        cpus: args.cpus,
        memory: args.memory,
        retries: args.retries,
        env: [args.env ?? []].flat(),
      };
      return withManager(jobCtx, async (m) => {
        const submitted = await submitJob(request, jobCtx, m, (warning) => ctx.progress().warn(warning));
        const { spec } = submitted;
        if (!args.wait) {
          if (ctx.json) ctx.emitJson({ job: spec.name, image: spec.image, replicas: spec.replicas, parallel: spec.parallel, hosts: submitted.hosts });
          ctx.out(`submitted job ${spec.name}: ${spec.replicas} task${spec.replicas === 1 ? '' : 's'} of ${spec.image}, ${spec.parallel} at once, on ${submitted.hosts.join(', ')}`);
          ctx.out('it runs on without pcc');
          ctx.next([ctx.pcc`job wait ${spec.name}`, ctx.pcc`job logs ${spec.name} --follow`]);
          return 0;
        }
        ctx.progress().note(`submitted job ${spec.name} on ${submitted.hosts.join(', ')}`);
        return finish(await waitForJob(m, spec.name, liveProgress(ctx)), ctx);
      });
    }
    case 'ls':
      return withManager(jobCtx, async (m) => {
        const views = await listJobs(m, args.target);
        if (ctx.json) ctx.emitJson({ jobs: views });
        else printJobs(views, ctx);
        return 0;
      });
    case 'wait': {
      const name = needName();
      return withManager(jobCtx, async (m) => finish(await waitForJob(m, name, liveProgress(ctx)), ctx));
    }
    case 'logs': {
      const name = needName();
      return withManager(jobCtx, async (m) => {
        const lines: { task: number; host: string; line: string }[] = [];
        await jobLogs(m, name, { follow: args.follow, task: args.task }, (l) => {
          if (ctx.json) lines.push(l);
          else ctx.out(`${String(l.task).padStart(3)} ${l.host} | ${l.line}`);
        });
        if (ctx.json) ctx.emitJson({ job: name, lines });
        return 0;
      });
    }
    case 'rm': {
      const name = needName();
      return withManager(jobCtx, async (m) => {
        const [view] = await listJobs(m, name);
        const live = view!.counts.running + view!.counts.pending + view!.counts.lost;
        if (!view!.finished && !args.yes) {
          throw new PccError(`job ${name} has ${live} task${live === 1 ? '' : 's'} not finished (${counts(view!)}); pcc job rm ${name} --yes stops them`);
        }
        await removeJob(m, name);
        if (ctx.json) ctx.emitJson({ removed: name, stopped: live });
        else ctx.out(`removed job ${name}${live ? `, stopped ${live} unfinished task${live === 1 ? '' : 's'}` : ''} (its output in /project stays)`);
        return 0;
      });
    }
  }
}

/** One line per host and one for the job, printed only when they change; quiet under --json. */
function liveProgress(ctx: CliContext): (v: JobView) => void {
  const started = Date.now();
  const last = new Map<string, string>();
  const progress = ctx.progress();
  return (v) => {
    const perHost = new Map<string, Record<string, number>>();
    for (const t of v.tasks) {
      if (!t.host || t.state === 'pending') continue;
      const c = perHost.get(t.host) ?? {};
      c[t.state] = (c[t.state] ?? 0) + 1;
      perHost.set(t.host, c);
    }
    for (const [host, c] of [...perHost].sort(([a], [b]) => a.localeCompare(b))) {
      const line = Object.entries(c).map(([s, n]) => `${n} ${s}`).join(', ');
      // Once the job has finished, a host's line is its last: ✖ where a task failed there, else ✔.
      const outcome = v.finished ? (c.failed ? 'failed' : 'ok') : undefined;
      const key = `${line}${outcome ?? ''}`;
      if (last.get(host) !== key) progress.host(host, line, outcome);
      last.set(host, key);
    }
    const total = `job ${v.name}: ${counts(v)}`;
    if (last.get('') !== total) progress.note(`${total} (${Math.round((Date.now() - started) / 1000)}s)`);
    last.set('', total);
  };
}

function finish(view: JobView, ctx: CliContext): number {
  if (ctx.json) ctx.emitJson({ job: view });
  else {
    ctx.out(`job ${view.name} finished: ${counts(view)}`);
    for (const t of view.tasks.filter((x) => x.state === 'failed')) {
      ctx.out(`task ${t.index} failed on ${t.host ?? '?'} after ${t.failures} attempt${t.failures === 1 ? '' : 's'}${t.exitCode === undefined ? '' : ` (exit ${t.exitCode})`}${t.message ? ` [${t.message}]` : ''}: see pcc job logs ${view.name} --task ${t.index}`);
    }
    for (const line of lostSummary(view)) ctx.out(line);
  }
  return view.counts.failed === 0 ? 0 : 1;
}

function printJobs(views: JobView[], ctx: CliContext): void {
  if (views.length === 0) {
    ctx.out('no jobs; start one with pcc job run IMAGE -- COMMAND');
    return;
  }
  ctx.out(
    table(
      ['name', 'image', 'done', 'running', 'failed', 'pending', 'lost', 'started', 'hosts'],
      views.map((v) => [v.name, v.image, v.counts.done, v.counts.running, v.counts.failed, v.counts.pending, v.counts.lost, v.started.slice(0, 19).replace('T', ' '), v.hosts.join(',') || undefined]),
    ),
  );
  for (const v of views) for (const line of lostSummary(v)) ctx.out(`${v.name}: ${line}`);
}
