import { errorMessage, PccError } from '../core/errors.js';
import { loadProvider } from '../providers/index.js';
import type { AcquireRequest, DestroyReport, HostStatus, ProviderContext, SaveRequest } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { refreshAliases } from './aliases.js';
import { connectorFor } from './connect.js';
import { forgetSwarmNodes } from './swarm.js';
import { siteOf } from '../network/reach.js';

export interface AcquireOutcome {
  hosts: HostRecord[];
  aliases: string[];
  /** Hosts that did not answer on SSH in time (only with wait). */
  unreachable: { host: string; error: string }[];
}

/** Provider creates or resumes; pcc then writes aliases and, unless told not to, waits for SSH. */
export async function acquire(providerName: string, request: AcquireRequest, ctx: ProviderContext): Promise<AcquireOutcome> {
  if (!Number.isInteger(request.count) || request.count < 1 || request.count > 100) {
    throw new PccError(`--count ${request.count}: give a whole number from 1 to 100`);
  }
  if (request.site !== undefined && providerName !== 'local') {
    throw new PccError(`--site is for the local provider's simulated internet; ${providerName} hosts sit where ${providerName} puts them`);
  }
  const provider = await loadProvider(providerName);
  const hosts = await provider.acquire(request, ctx);
  if (ctx.dry) return { hosts, aliases: [], unreachable: [] };
  const aliases = await refreshAliases(ctx, provider.name);
  const unreachable = request.wait ? await waitForSsh(hosts, ctx) : [];
  return { hosts, aliases, unreachable };
}

/** The first connection records each host key (trust on first use), so plain `ssh <alias>` works right after. */
export async function waitForSsh(hosts: HostRecord[], ctx: ProviderContext): Promise<{ host: string; error: string }[]> {
  const connect = await connectorFor(ctx.project, ctx.settings);
  const failures: { host: string; error: string }[] = [];
  await Promise.all(
    hosts.map(async (h) => {
      ctx.progress.host(h.name, 'waiting for ssh');
      try {
        (await connect(h)).close();
        ctx.progress.host(h.name, 'ssh ready');
      } catch (err) {
        failures.push({ host: h.name, error: errorMessage(err) });
        ctx.progress.host(h.name, `ssh not ready: ${errorMessage(err)}`);
      }
    }),
  );
  return failures;
}

export async function save(providerName: string, request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]> {
  const provider = await loadProvider(providerName);
  return provider.save(request, ctx);
}

export async function destroy(providerName: string, ctx: ProviderContext): Promise<DestroyReport> {
  const provider = await loadProvider(providerName);
  const departing = Object.values((await ctx.state.read()).hosts).filter((h) => h.provider === providerName);
  const forgotten = await forgetSwarmNodes(departing, ctx);
  const report = await provider.destroy(ctx);
  report.removed.push(...forgotten);
  await refreshAliases(ctx, provider.name);
  return report;
}

/** Live status of every provider that has hosts in the state. */
export async function status(ctx: ProviderContext): Promise<HostStatus[]> {
  const state = await ctx.state.read();
  const names = [...new Set(Object.values(state.hosts).map((h) => h.provider))].sort();
  const rows: HostStatus[] = [];
  for (const name of names) {
    const provider = await loadProvider(name);
    try {
      rows.push(...(await provider.status(ctx)));
    } catch (err) {
      ctx.progress.warn(`${name}: status unavailable: ${errorMessage(err)}`);
      for (const h of Object.values(state.hosts).filter((x) => x.provider === name)) {
        rows.push({ name: h.name, provider: h.provider, state: 'unknown', address: h.address, groups: h.groups });
      }
    }
  }
  // Where each host sits is pcc's own knowledge, the same for every provider.
  return rows.map((r) => ({ ...r, site: state.hosts[r.name] ? siteOf(state.hosts[r.name]!) : undefined }));
}
