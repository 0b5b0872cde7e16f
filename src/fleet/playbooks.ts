import path from 'node:path';
import { selectHosts } from '../inventory/pattern.js';
import type { Playbook } from '../playbook/define.js';
import { fileFactMemory } from '../playbook/fact-memory.js';
import { runPlaybook, type RunOptions } from '../playbook/run.js';
import { timeoutsFrom } from '../remote/timeouts.js';
import type { RunResult } from '../playbook/result.js';
import type { ProviderContext } from '../providers/types.js';
import { hostVarsResolver } from '../settings/host-vars.js';
import type { HostRecord } from '../state/schema.js';
import { connectorFor } from './connect.js';

export interface PlaybookRunRequest<I> {
  pattern: string;
  dry: boolean;
  /** `--var K=V`: wins over every file. */
  vars?: Record<string, string>;
  input?: I;
}

/** Resolves the pattern against the state and runs the playbook on what it matches. */
export async function runPlaybookOn<I>(playbook: Playbook<I> | Promise<Playbook<I>>, request: PlaybookRunRequest<I>, ctx: ProviderContext): Promise<RunResult> {
  const state = await ctx.state.read();
  const hosts = selectHosts(request.pattern, Object.values(state.hosts));
  const options = await runOptions(ctx, { dry: request.dry, input: request.input, vars: request.vars });
  // A bad per-host or per-group file stops the run before any host is touched.
  for (const h of hosts) options.vars(h);
  return runPlaybook(playbook, hosts, options);
}

/** How every playbook run of pcc's connects, reports progress and remembers facts. */
export async function runOptions<I>(
  ctx: ProviderContext,
  run: { dry: boolean; input?: I; vars?: Record<string, string>; concurrency?: number },
): Promise<RunOptions<I> & { vars: (host: HostRecord) => Readonly<Record<string, string>> }> {
  const resolve = hostVarsResolver(ctx.project, ctx.settings, run.vars);
  const byHost = new Map<string, Readonly<Record<string, string>>>();
  const factsDir = path.join(ctx.project.stateDir, 'cache', 'facts');
  return {
    dry: run.dry,
    input: run.input,
    concurrency: run.concurrency ?? ctx.settings.values.PCC_CONCURRENCY,
    vars: (host) => {
      let vars = byHost.get(host.name);
      if (!vars) byHost.set(host.name, (vars = resolve(host).vars));
      return vars;
    },
    connect: await connectorFor(ctx.project, ctx.settings),
    onProgress: (host, message) => ctx.progress.host(host, message),
    memory: (playbook, host) => fileFactMemory(factsDir, playbook, host),
    timeouts: timeoutsFrom(ctx.settings.values),
  };
}
