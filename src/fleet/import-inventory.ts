import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { PccError } from '../core/errors.js';
import { parseIniInventory, parseYamlInventory, resolveInventory, varText, type Inventory, type ResolvedHost } from '../inventory/ansible.js';
import type { ProviderContext } from '../providers/types.js';
import { checkVariableKey } from '../settings/load.js';
import { setVarsInFile } from '../settings/host-vars.js';
import type { HostRecord } from '../state/schema.js';
import { addStaticHosts, checkStaticHosts, GROUP_NAME, HOST_NAME, type StaticHostInput } from './static-hosts.js';

/** Ansible's connection variables, which become the host record's fields instead of variables. */
const CONNECTION = {
  address: ['ansible_host', 'ansible_ssh_host'],
  port: ['ansible_port', 'ansible_ssh_port'],
  user: ['ansible_user', 'ansible_ssh_user'],
  key: ['ansible_ssh_private_key_file', 'ansible_private_key_file'],
} as const;
const CONNECTION_KEYS: ReadonlySet<string> = new Set(Object.values(CONNECTION).flat());

export interface ImportedHost {
  /** The inventory's name; the pcc name differs where that is not a valid ssh alias. */
  inventoryName: string;
  host: HostRecord;
}

export interface ImportPlan {
  hosts: StaticHostInput[];
  inventoryNames: Map<string, string>;
  /** File (config/groups/<g>.env or config/hosts/<name>.env) → variables to set there. */
  groupVars: Map<string, Record<string, string>>;
  hostVars: Map<string, Record<string, string>>;
}

export async function readInventory(file: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PccError(`${file}: cannot read the inventory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const yaml = /\.ya?ml$/i.test(file) || (!/\.ini$/i.test(file) && /^\s*(---|all\s*:)/m.test(text));
  return yaml ? parseYamlInventory(text, file) : parseIniInventory(text, file);
}

/** A pcc name for an inventory host: the same where valid, else lowercased with dashes (`db.example.com` → `db-example-com`). */
export function pccHostName(name: string): string {
  if (HOST_NAME.test(name)) return name;
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
}

/**
 * Turns an inventory into static hosts and per-group / per-host variable
 * files. Group variables go to config/groups/<group>.env as they are; where
 * pcc's layering (a host's groups must agree, the host's own file settles)
 * would give a host another value than Ansible's (depth, priority, name), the
 * host's file gets Ansible's value, so every host ends with the variables
 * `ansible-inventory --list` shows.
 */
export function planImport(inv: Inventory, file: string): ImportPlan {
  const resolved = resolveInventory(inv, file);
  const plan: ImportPlan = { hosts: [], inventoryNames: new Map(), groupVars: new Map(), hostVars: new Map() };
  const taken = new Map<string, string>();

  for (const [name, g] of inv.groups) {
    if (name !== 'all' && name !== 'ungrouped' && !GROUP_NAME.test(name)) {
      throw new PccError(`${file}: group '${name}': pcc group names are lowercase letters, digits, _ and -; rename it in the inventory`);
    }
    const vars = variables(g.vars, `${file}: group ${name}`);
    // ungrouped is no pcc group: its hosts get those values in their own files.
    if (name !== 'ungrouped' && Object.keys(vars).length > 0) plan.groupVars.set(name, vars);
  }

  for (const r of resolved) {
    const name = pccHostName(r.name);
    if (!HOST_NAME.test(name)) throw new PccError(`${file}: host '${r.name}' gives no usable pcc name; rename it and set ansible_host`);
    const clash = taken.get(name);
    if (clash) throw new PccError(`${file}: hosts '${clash}' and '${r.name}' both become pcc host ${name}; rename one`);
    taken.set(name, r.name);
    plan.inventoryNames.set(name, r.name);
    plan.hosts.push(connectionOf(r, name, file));
    const settle = settledVars(inv, r, plan.groupVars, file);
    if (Object.keys(settle).length > 0) plan.hostVars.set(name, settle);
  }
  return plan;
}

function connectionOf(r: ResolvedHost, name: string, file: string): StaticHostInput {
  const pick = (keys: readonly string[]) => keys.map((k) => r.vars[k]).find((v) => v !== undefined && v !== null && v !== '');
  const address = varText(pick(CONNECTION.address) ?? r.name);
  const port = Number(pick(CONNECTION.port) ?? 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PccError(`${file}: host ${r.name}: ansible_port ${varText(pick(CONNECTION.port))} is not a port`);
  const user = varText(pick(CONNECTION.user) ?? userInfo().username);
  const key = pick(CONNECTION.key);
  const target = `${user}@${address.includes(':') ? `[${address}]` : address}:${port}`;
  return { name, target, key: key === undefined ? undefined : varText(key), groups: r.groups };
}

function variables(vars: Record<string, unknown>, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) {
    if (CONNECTION_KEYS.has(k)) continue;
    if (!/^[A-Za-z_][\w.-]*$/.test(k)) throw new PccError(`${where}: variable name '${k}' cannot be a dotenv key; rename it`);
    checkVariableKey(k, where);
    out[k] = varText(v);
  }
  return out;
}

/** The host's own variables, plus every value pcc's layering of the group files would get wrong. */
function settledVars(inv: Inventory, r: ResolvedHost, groupVars: Map<string, Record<string, string>>, file: string): Record<string, string> {
  const own = variables(inv.hosts.get(r.name) ?? {}, `${file}: host ${r.name}`);
  const wanted = variables(r.vars, `${file}: host ${r.name}`);
  const out = { ...own };
  for (const [key, value] of Object.entries(wanted)) {
    if (key in own) continue;
    const fromGroups = new Set(r.groups.map((g) => groupVars.get(g)?.[key]).filter((v): v is string => v !== undefined));
    const pcc = fromGroups.size === 1 ? [...fromGroups][0] : fromGroups.size === 0 ? groupVars.get('all')?.[key] : undefined;
    if (pcc !== value) out[key] = value;
  }
  return out;
}

/**
 * Checks the hosts as `hosts add` would (a name taken by another host is
 * refused), then writes the variable files, then records the hosts (one
 * state update, one alias refresh): a refused import writes nothing.
 */
export async function importInventory(ctx: ProviderContext, file: string): Promise<ImportedHost[]> {
  const shown = path.relative(process.cwd(), file) || file;
  const plan = planImport(await readInventory(file), shown);
  if (plan.hosts.length === 0) throw new PccError(`${file}: no hosts in this inventory`);
  await checkStaticHosts(ctx, plan.hosts, { inventory: shown });
  for (const [g, vars] of plan.groupVars) await setVarsInFile(ctx.project, 'groups', g, vars);
  for (const [h, vars] of plan.hostVars) await setVarsInFile(ctx.project, 'hosts', h, vars);
  const hosts = await addStaticHosts(ctx, plan.hosts, { inventory: shown });
  return hosts.map((host) => ({ host, inventoryName: plan.inventoryNames.get(host.name) ?? host.name }));
}
