import path from 'node:path';
import { selectHosts } from '../inventory/pattern.js';
import type { Playbook } from '../playbook/define.js';
import { fileFactMemory } from '../playbook/fact-memory.js';
import { runPlaybook, type RunOptions } from '../playbook/run.js';
import type { RunResult } from '../playbook/result.js';
import type { ProviderContext } from '../providers/types.js';
import { connectorFor } from './connect.js';

export interface PlaybookRunRequest<I> {
  pattern: string;
  dry: boolean;
  vars?: Record<string, string>;
  input?: I;
}

/** Resolves the pattern against the state and runs the playbook on what it matches. */
export async function runPlaybookOn<I>(playbook: Playbook<I> | Promise<Playbook<I>>, request: PlaybookRunRequest<I>, ctx: ProviderContext): Promise<RunResult> {
  const state = await ctx.state.read();
  const hosts = selectHosts(request.pattern, Object.values(state.hosts));
  return runPlaybook(playbook, hosts, await runOptions(ctx, { dry: request.dry, input: request.input, vars: request.vars }));
}

/** How every playbook run of pcc's connects, reports progress and remembers facts. */
export async function runOptions<I>(
  ctx: ProviderContext,
  run: { dry: boolean; input?: I; vars?: Record<string, string>; concurrency?: number },
): Promise<RunOptions<I>> {
  const factsDir = path.join(ctx.project.stateDir, 'cache', 'facts');
  return {
    dry: run.dry,
    input: run.input,
    concurrency: run.concurrency ?? ctx.settings.values.PCC_CONCURRENCY,
    vars: { ...ctx.settings.vars, ...run.vars },
    connect: await connectorFor(ctx.project, ctx.settings),
    onProgress: (host, message) => ctx.progress.host(host, message),
    memory: (playbook, host) => fileFactMemory(factsDir, playbook, host),
  };
}
