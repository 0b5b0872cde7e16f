import { PccError } from '../core/errors.js';
import type { ProviderContext } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { refreshAliases } from './aliases.js';

/** A host name becomes an ssh alias and a file name (config/hosts/<name>.env). */
export const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Group names also allow `_`, which Ansible inventories use a lot. */
export const GROUP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export interface StaticHostInput {
  name: string;
  target: string;
  key?: string;
  groups: string[];
}

/** `user@address[:port]`, with `[v6]:port` for IPv6. */
export function parseTarget(target: string): { user: string; address: string; port: number } {
  const m = /^([^@\s]+)@(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(target);
  if (!m) throw new PccError(`target '${target}' is not user@address[:port]; e.g. pcc hosts add gpu1 ubuntu@203.0.113.7:22`);
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) throw new PccError(`target '${target}': port ${port} is out of range 1-65535`);
  return { user: m[1]!, address: m[2]!.replace(/^\[|\]$/g, ''), port };
}

export async function addStaticHost(ctx: ProviderContext, input: StaticHostInput): Promise<HostRecord> {
  return (await addStaticHosts(ctx, [input]))[0]!;
}

/** Adds (or updates) static hosts in one state update and one alias refresh; all are checked before any is saved. */
export async function addStaticHosts(ctx: ProviderContext, inputs: readonly StaticHostInput[]): Promise<HostRecord[]> {
  const parsed = inputs.map((input) => {
    if (!HOST_NAME.test(input.name)) {
      throw new PccError(`host name '${input.name}': use lowercase letters, digits and dashes (it becomes an ssh alias)`);
    }
    for (const g of input.groups) {
      if (!GROUP_NAME.test(g)) throw new PccError(`--group '${g}': use lowercase letters, digits, _ and -`);
    }
    return { input, ...parseTarget(input.target) };
  });
  const records = await ctx.state.update((state) =>
    parsed.map(({ input, user, address, port }) => {
      const existing = state.hosts[input.name];
      if (existing && existing.provider !== 'static') {
        throw new PccError(`host name '${input.name}' is taken by a ${existing.provider} host; choose another name`);
      }
      const host: HostRecord = {
        name: input.name,
        address,
        port,
        user,
        key: input.key,
        provider: 'static',
        groups: ['static', ...input.groups.filter((g) => g !== 'static')],
        createdAt: existing?.createdAt ?? new Date().toISOString(),
        meta: {},
      };
      state.hosts[input.name] = host;
      return host;
    }),
  );
  await refreshAliases(ctx, 'static');
  return records;
}

export async function removeStaticHost(ctx: ProviderContext, name: string): Promise<void> {
  await ctx.state.update((state) => {
    const host = state.hosts[name];
    if (!host) throw new PccError(`no host named '${name}'; see pcc hosts`);
    if (host.provider !== 'static') {
      throw new PccError(`${name} is a ${host.provider} host; remove it with pcc destroy ${host.provider}`);
    }
    delete state.hosts[name];
  });
  await refreshAliases(ctx, 'static');
}
