import { selectHosts } from '../inventory/pattern.js';
import type { Playbook } from '../playbook/define.js';
import { runPlaybook } from '../playbook/run.js';
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
  const connect = await connectorFor(ctx.project, ctx.settings);
  return runPlaybook(playbook, hosts, {
    dry: request.dry,
    input: request.input,
    concurrency: ctx.settings.values.PCC_CONCURRENCY,
    vars: { ...ctx.settings.vars, ...request.vars },
    connect,
    onProgress: (host, message) => ctx.progress.host(host, message),
  });
}
