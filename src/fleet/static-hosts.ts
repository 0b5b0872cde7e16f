import { existsSync } from 'node:fs';
import path from 'node:path';
import { PccError } from '../core/errors.js';
import { expandHome } from '../core/project.js';
import { hostGroups } from '../inventory/pattern.js';
import { PROVIDER_NAMES } from '../providers/registry.js';
import type { ProviderContext } from '../providers/types.js';
import { isSshConfigWord } from '../sshconfig/entries.js';
import type { HostRecord, State } from '../state/schema.js';
import { refreshAliases } from './aliases.js';
import { CONTROLLER_GROUP } from './cluster.js';

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
  const parsed = { user: m[1]!, address: m[2]!.replace(/^\[|\]$/g, ''), port };
  // Checked here, before anything is saved: a record the alias writer cannot write would block every later hosts add.
  for (const [field, value] of [['user', parsed.user], ['address', parsed.address]] as const) {
    if (!isSshConfigWord(value)) {
      throw new PccError(`target '${target}': the ${field} '${value}' cannot go into an ssh config (no quotes, #, backslashes or spaces)`);
    }
  }
  return parsed;
}

/** Groups every pcc host may be in, and the pattern word for every host. */
const BUILTIN_GROUPS = ['all', ...PROVIDER_NAMES, 'cpu', 'gpu', CONTROLLER_GROUP];

/**
 * A host named like a group (web, all) or a group named like a host would
 * silently widen every pattern that names either: refused.
 */
function refuseNameClashes(state: State, input: StaticHostInput): void {
  const others = Object.values(state.hosts).filter((h) => h.name !== input.name);
  const groups = new Set([...BUILTIN_GROUPS, ...others.flatMap(hostGroups)]);
  if (groups.has(input.name)) {
    throw new PccError(`host name '${input.name}' is also a group name, so patterns naming the group would match it; choose another name`);
  }
  for (const g of input.groups) {
    if (g === 'all' || others.some((h) => h.name === g) || g === input.name) {
      throw new PccError(`--group '${g}' is also a host name, so patterns naming the host would match the group; choose another group`);
    }
  }
}

/** The key file, resolved as the ssh alias will use it (relative to the project). */
function checkKey(ctx: ProviderContext, key: string | undefined): void {
  if (key === undefined) return;
  const file = path.resolve(ctx.project.root, expandHome(key, ctx.project.home));
  if (!existsSync(file)) throw new PccError(`--key ${key}: no such file (${file}); give the private key that logs in to the host`);
}

/**
 * `pcc hosts add`: the key must exist now (an imported inventory may name keys
 * of another machine). A name another static host already has is refused
 * unless the host is the same: an add that left out `--key` or `--group` would
 * otherwise drop them without a word. Adding the same host again is a no-op,
 * so a script may repeat it (with `--var`, say).
 */
export async function addStaticHost(ctx: ProviderContext, input: StaticHostInput): Promise<HostRecord> {
  checkKey(ctx, input.key);
  return (await addStaticHosts(ctx, [input]))[0]!;
}

/** The fields `hosts add` and an inventory set; the rest of a record is what setup and autostop learned since. */
function sameTarget(a: HostRecord, b: HostRecord): boolean {
  const groups = (h: HostRecord) => [...h.groups].sort().join(',');
  return a.address === b.address && a.port === b.port && a.user === b.user && a.key === b.key && groups(a) === groups(b);
}

function describeStatic(h: HostRecord): string {
  return `${h.user}@${h.address}:${h.port}, groups ${h.groups.join(',')}${h.key ? `, key ${h.key}` : ''}`;
}

/**
 * Where the hosts come from: `hosts add` (undefined) or the inventory file
 * `hosts import` reads, which a refusal names.
 */
export interface StaticHostSource {
  inventory?: string;
}

/**
 * The records `inputs` make in `state`, by the one rule for `hosts add` and
 * `hosts import`: a name another static host has is refused unless the host
 * is the same (address, port, user, key, groups), and the same host again
 * keeps what setup and autostop wrote into its record (overlay address and
 * key, autostop), so importing an inventory again moves no host on the
 * overlay. Each input is checked against the ones before it too. Changes
 * nothing in `state` itself.
 */
function staticRecords(state: State, inputs: readonly StaticHostInput[], source: StaticHostSource): HostRecord[] {
  const soFar: State = { ...state, hosts: { ...state.hosts } };
  return inputs.map((input) => {
    if (!HOST_NAME.test(input.name)) {
      throw new PccError(`host name '${input.name}': use lowercase letters, digits and dashes (it becomes an ssh alias)`);
    }
    for (const g of input.groups) {
      if (!GROUP_NAME.test(g)) throw new PccError(`--group '${g}': use lowercase letters, digits, _ and -`);
    }
    const { user, address, port } = parseTarget(input.target);
    refuseNameClashes(soFar, input);
    const existing = soFar.hosts[input.name];
    if (existing && existing.provider !== 'static') {
      throw new PccError(`host name '${input.name}' is taken by a ${existing.provider} host; choose another name`);
    }
    const host: HostRecord = {
      ...existing,
      name: input.name,
      address,
      port,
      user,
      key: input.key,
      provider: 'static',
      groups: ['static', ...input.groups.filter((g) => g !== 'static')],
      createdAt: existing?.createdAt ?? new Date().toISOString(),
      meta: existing?.meta ?? {},
    };
    if (existing && !sameTarget(existing, host)) {
      throw new PccError(
        source.inventory === undefined
          ? `host '${input.name}' is already there (${describeStatic(existing)}); remove it first with pcc hosts rm ${input.name}, then add it again`
          : `${source.inventory}: host '${input.name}' is already there as another host (${describeStatic(existing)}; the inventory has ${describeStatic(host)}); remove it first with pcc hosts rm ${input.name}, then import again`,
      );
    }
    soFar.hosts[input.name] = host;
    return host;
  });
}

/** Refuses what `addStaticHosts` would refuse, saving nothing: `hosts import` asks before it writes variable files. */
export async function checkStaticHosts(ctx: ProviderContext, inputs: readonly StaticHostInput[], source: StaticHostSource = {}): Promise<void> {
  staticRecords(await ctx.state.read(), inputs, source);
}

/** Adds static hosts in one state update and one alias refresh; all are checked (see staticRecords) before any is saved. */
export async function addStaticHosts(ctx: ProviderContext, inputs: readonly StaticHostInput[], source: StaticHostSource = {}): Promise<HostRecord[]> {
  const records = await ctx.state.update((state) => {
    const hosts = staticRecords(state, inputs, source);
    for (const h of hosts) state.hosts[h.name] = h;
    return hosts;
  });
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
