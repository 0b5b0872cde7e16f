import { errorMessage } from '../core/errors.js';
import type { ProviderContext } from '../providers/types.js';
import type { RunResult } from '../playbook/result.js';
import { timeoutsFrom } from '../remote/timeouts.js';
import type { HostRecord, State } from '../state/schema.js';
import { forgetNodesScript } from '../jobs/builders.js';
import { nodeLabels } from '../swarm/labels.js';
import { CONTROLLER } from './cluster.js';
import { connectorFor } from './connect.js';

/**
 * The swarm seen from pcc's side: the join token read from the manager over
 * SSH (and kept in memory only), labels from what setup learned, and nodes
 * of departing hosts removed on the manager.
 */
export async function readJoinToken(controller: HostRecord, ctx: ProviderContext): Promise<string | undefined> {
  const connect = await connectorFor(ctx.project, ctx.settings);
  const conn = await connect(controller);
  try {
    const deadline = { ms: timeoutsFrom(ctx.settings.values).roundTripMs, step: 'while reading the swarm join token' };
    const r = await conn.script('docker swarm join-token -q worker 2>/dev/null', { become: true, deadline });
    const token = r.stdout.trim();
    return r.code === 0 && /^SWMTKN-[\w-]+$/.test(token) ? token : undefined;
  } finally {
    conn.close();
  }
}

/** Labels for every host the setup run reached, keyed by overlay address. */
export function labelsFromSetup(state: State, result: RunResult): Record<string, Record<string, string>> {
  const wanted: Record<string, Record<string, string>> = {};
  for (const h of result.hosts) {
    const record = state.hosts[h.host];
    if (!record?.overlayAddress || h.status === 'failed' || h.status === 'unreachable') continue;
    const flags = h.outputs.cpuFlags;
    if (!Array.isArray(flags)) continue; // refreshed on the overlay only: its labels stay as they are
    wanted[record.overlayAddress] = nodeLabels(
      record,
      {
        gpu: h.outputs.gpu === true,
        cpuFlags: flags as string[],
        cuda: typeof h.outputs.cuda === 'string' ? h.outputs.cuda : undefined,
        projectShared: typeof h.outputs.projectMounted === 'boolean' ? h.outputs.projectMounted : undefined,
      },
      h.host === CONTROLLER,
    );
  }
  return wanted;
}

/**
 * Before hosts go for good (destroy, release): their nodes leave the
 * manager's list, so that swarm reschedules or fails their tasks instead of
 * showing them running on a node that is gone. Best effort: a controller
 * that is down, or going too, has nothing to forget.
 */
export async function forgetSwarmNodes(departing: readonly HostRecord[], ctx: ProviderContext): Promise<string[]> {
  const state = await ctx.state.read();
  const controller = state.hosts[CONTROLLER];
  const nodes = departing.filter((h) => h.name !== CONTROLLER && h.overlayAddress).map((h) => ({ name: h.name, address: h.overlayAddress! }));
  if (!controller || nodes.length === 0 || departing.some((h) => h.name === CONTROLLER) || ctx.dry) return [];
  try {
    const connect = await connectorFor(ctx.project, ctx.settings);
    const conn = await connect(controller);
    try {
      // Each removal is noted with its host, so the tasks lost with it are named by host in job ls.
      const script = forgetNodesScript(nodes);
      const deadline = { ms: timeoutsFrom(ctx.settings.values).roundTripMs, step: 'while removing the departing swarm nodes' };
      const r = await conn.script(script, { become: true, deadline });
      return r.stdout.split('\n').filter(Boolean).map((a) => `swarm node ${a}`);
    } finally {
      conn.close();
    }
  } catch (err) {
    ctx.progress.warn(`swarm: could not remove the departing nodes on ${CONTROLLER} (${errorMessage(err)}); pcc setup removes them later`);
    return [];
  }
}
