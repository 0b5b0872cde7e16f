import { AGENT_STATE, parseAgentState, secondsUntilStop, type AgentState, type AutostopSetting } from '../autostop/setting.js';
import { errorMessage } from '../core/errors.js';
import type { ProviderContext } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';

/** What `pcc status` shows per host with a setting. */
export interface AutostopView extends AutostopSetting {
  /** Seconds until the host would power itself off (from the agent's last check): the idle period if it was idle, the lease in any case; absent while busy without a lease. */
  stopsInSeconds?: number;
  /** What kept it busy at the agent's last check (`ssh=1 containers=2`). */
  busy?: string;
  /** Where the figures come from: the agent on the host, or only the record (not running, not reached, not checked yet). */
  source: 'agent' | 'record';
}

/**
 * Reads the agent's state on the running hosts with a setting (one short
 * command each, which also renews their lease: pcc talked to them). A host
 * that does not answer keeps what its record says.
 */
export async function autostopViews(records: readonly HostRecord[], running: ReadonlySet<string>, ctx: ProviderContext): Promise<Map<string, AutostopView>> {
  const out = new Map<string, AutostopView>();
  const withSetting = records.filter((h) => h.autostop);
  for (const h of withSetting) out.set(h.name, { ...h.autostop!, source: 'record' });
  const reachable = withSetting.filter((h) => running.has(h.name));
  if (reachable.length === 0) return out;
  // SSH loads only when a host is there to ask: `pcc status` of stopped hosts stays quick.
  const { connectorFor } = await import('./connect.js');
  const connect = await connectorFor(ctx.project, ctx.settings);
  await Promise.all(
    reachable.map(async (h) => {
      try {
        const conn = await connect(h);
        try {
          const r = await conn.exec(`cat ${AGENT_STATE} 2>/dev/null; echo now=$(date +%s)`, {
            deadline: { ms: 15_000, step: 'while reading the autostop state' },
          });
          const state = parseAgentState(r.stdout);
          const now = Number(/^now=(\d+)$/m.exec(r.stdout)?.[1]);
          if (state && Number.isFinite(now)) out.set(h.name, view(h.autostop!, state, now));
        } finally {
          conn.close();
        }
      } catch (err) {
        ctx.progress.warn(`${h.name}: autostop state unavailable: ${errorMessage(err)}`);
      }
    }),
  );
  return out;
}

function view(setting: AutostopSetting, state: AgentState, now: number): AutostopView {
  const left = secondsUntilStop(state, now, now);
  return { ...setting, ...(left !== undefined ? { stopsInSeconds: left } : {}), busy: state.busy, source: 'agent' };
}
