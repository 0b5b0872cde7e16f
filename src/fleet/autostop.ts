import { agentTuning } from '../autostop/agent.js';
import type { AutostopSetting } from '../autostop/setting.js';
import { PccError, UserInputError } from '../core/errors.js';
import { selectHosts } from '../inventory/pattern.js';
import type { RunResult } from '../playbook/result.js';
import { quote } from '../remote/shell.js';
import { loadProvider } from '../providers/index.js';
import type { ProviderContext } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { providersOf } from './status.js';

export interface AutostopOutcome {
  hosts: { name: string; autostop?: AutostopSetting }[];
  /** The agent's install (or stop) on the running hosts; absent when nothing was reachable to try. */
  result?: RunResult;
  /** Hosts that were not running: their setting is recorded and the agent goes on at their next setup. */
  notRunning: string[];
}

/**
 * `pcc autostop PATTERN`: the hosts it matches, compute hosts only. A static
 * host that powers itself off stays off (pcc cannot start it again), so one
 * is refused before anything is recorded unless `staticOk` says the user
 * knows; then a warning names them.
 */
export async function autostopPattern(
  pattern: string,
  setting: AutostopSetting | undefined,
  ctx: ProviderContext,
  options: { staticOk?: boolean } = {},
): Promise<AutostopOutcome> {
  const hosts = selectHosts(pattern, Object.values((await ctx.state.read()).hosts));
  const unstartable = setting ? hosts.filter((h) => h.provider === 'static').map((h) => h.name) : [];
  if (unstartable.length > 0) {
    const one = unstartable.length === 1;
    const [which, them] = [`${unstartable.join(', ')} ${one ? 'is a static host' : 'are static hosts'}`, one ? 'it' : 'them'];
    if (!options.staticOk) {
      throw new UserInputError(`${which}, which pcc cannot start again once autostop powers ${them} off; leave ${them} out (${quote(`${pattern}:-static`)}), or pass --static-ok`);
    }
    ctx.progress.warn(`${which}: autostop powers ${them} off when idle, and pcc cannot start ${them} again; start ${them} by hand`);
  }
  return applyAutostop(hosts, setting, ctx, { install: true });
}

/**
 * Records the setting on each host, tells each provider what a shutdown
 * means (EC2: stop, or terminate with `down`) and, with `install`, writes
 * the agent on the running hosts (or stops its timer for `--off`).
 */
export async function applyAutostop(
  hosts: readonly HostRecord[],
  setting: AutostopSetting | undefined,
  ctx: ProviderContext,
  options: { install: boolean },
): Promise<AutostopOutcome> {
  const controller = hosts.find((h) => h.groups.includes('controller'));
  if (controller) throw new PccError(`${controller.name} is the controller, which every host needs; autostop takes compute hosts (e.g. all:-${controller.name})`);
  const names = hosts.map((h) => h.name);
  if (!ctx.dry) {
    await ctx.state.update((state) => {
      for (const n of names) {
        const h = state.hosts[n];
        if (!h) continue;
        if (setting) h.autostop = setting;
        else delete h.autostop;
      }
    });
  }
  if (setting) {
    for (const providerName of providersOf(hosts)) {
      const provider = await loadProvider(providerName);
      const mine = hosts.filter((h) => h.provider === providerName).map((h) => h.name);
      if (provider.setShutdownBehavior) await provider.setShutdownBehavior(mine, setting.down ? 'terminate' : 'stop', ctx);
      else if (setting.down) ctx.progress.warn(`${providerName}: --down: an idle host powers off and keeps its disk here; pcc release removes it`);
    }
  }
  const state = await ctx.state.read();
  const current = names.flatMap((n) => (state.hosts[n] ? [state.hosts[n]] : []));
  const running = current.filter((h) => (h.status ?? 'running') === 'running');
  const notRunning = current.filter((h) => !running.includes(h)).map((h) => h.name);
  let result: RunResult | undefined;
  if (options.install && running.length > 0) {
    // The runner loads here, not with this module: `pcc status` reads autostop views and runs no playbook.
    const [{ default: playbook }, { runPlaybook }, { runOptions }] = await Promise.all([
      import('../../playbooks/autostop.js'),
      import('../playbook/run.js'),
      import('./playbooks.js'),
    ]);
    result = await runPlaybook(playbook, running, await runOptions(ctx, { dry: ctx.dry, input: { tuning: agentTuning(ctx.settings) } }));
  }
  return { hosts: current.map((h) => ({ name: h.name, ...(setting ? { autostop: setting } : {}) })), result, notRunning };
}
