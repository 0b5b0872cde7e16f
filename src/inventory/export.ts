import type { HostRecord } from '../state/schema.js';
import { naturalCompare } from '../core/natural-order.js';
import { hostGroups } from './pattern.js';

/*
 * The hosts and groups as other tools read them, as pure functions from host
 * records: Ansible's dynamic-inventory JSON (the `--list` answer of an
 * inventory script) and a pyinfra inventory module. Both log in the way the
 * ssh aliases do: same address, port, user and key, host keys checked
 * strictly against pcc's known_hosts.
 */

export interface ExportSources {
  /** The private key of a host (its own, or the project's default), absolute; undefined: the agent's. */
  keyOf(host: HostRecord): string | undefined;
  knownHosts: string;
  /**
   * A host's variables as its playbooks see them (settings < group < host),
   * secrets left out: they go into the inventory beside the connection, so a
   * playbook that still runs under Ansible or pyinfra reads the same values.
   */
  varsOf(host: HostRecord): Readonly<Record<string, string>>;
}

export interface AnsibleInventory {
  _meta: { hostvars: Record<string, Record<string, string | number>> };
  [group: string]: { hosts?: string[]; children?: string[] } | AnsibleInventory['_meta'];
}

/** Ansible's script format: `{ group: { hosts }, all: { children }, _meta: { hostvars } }`. */
export function ansibleInventory(hosts: readonly HostRecord[], sources: ExportSources): AnsibleInventory {
  const sorted = [...hosts].sort((a, b) => naturalCompare(a.name, b.name));
  const groups = new Map<string, string[]>();
  const hostvars: Record<string, Record<string, string | number>> = {};
  for (const h of sorted) {
    for (const g of hostGroups(h)) {
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(h.name);
    }
    const key = sources.keyOf(h);
    hostvars[h.name] = {
      // pcc's own way in comes last, so a variable can never point Ansible at another host or key.
      ...sources.varsOf(h),
      ansible_host: h.address,
      ansible_port: h.port,
      ansible_user: h.user,
      ...(key ? { ansible_ssh_private_key_file: key } : {}),
      // known_hosts is keyed by the host's name (HostKeyAlias), as in pcc's ssh aliases.
      ansible_ssh_common_args: `-o UserKnownHostsFile=${sources.knownHosts} -o StrictHostKeyChecking=yes -o HostKeyAlias=${h.name}`,
    };
  }
  const out: AnsibleInventory = { _meta: { hostvars } };
  const names = [...groups.keys()].sort(naturalCompare);
  for (const g of names) out[g] = { hosts: groups.get(g)! };
  out.all = { children: names };
  return out;
}

/** A Python identifier for a group: pyinfra's groups are the module's list variables. */
export function pythonName(group: string): string {
  const name = group.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * A pyinfra inventory module: one list per group of `(name, data)` tuples.
 * pyinfra checks host keys by address, so it gets a known_hosts of its own,
 * `knownHostsByAddress`, written from pcc's (see `addressKnownHosts`).
 */
export function pyinfraInventory(hosts: readonly HostRecord[], sources: ExportSources & { knownHostsByAddress: string }): string {
  const sorted = [...hosts].sort((a, b) => naturalCompare(a.name, b.name));
  const data = (h: HostRecord) => {
    const key = sources.keyOf(h);
    const fields: Record<string, string | number> = {
      ...sources.varsOf(h),
      ssh_hostname: h.address,
      ssh_port: h.port,
      ssh_user: h.user,
      ...(key ? { ssh_key: key } : {}),
      ssh_known_hosts_file: sources.knownHostsByAddress,
      ssh_strict_host_key_checking: 'yes',
    };
    return `(${JSON.stringify(h.name)}, ${JSON.stringify(fields)})`;
  };
  const groups = new Map<string, HostRecord[]>();
  for (const h of sorted) {
    for (const g of hostGroups(h)) {
      const name = pythonName(g);
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name)!.push(h);
    }
  }
  const lines = ['# pcc inventory for pyinfra; written by `pcc inventory --pyinfra`, rewritten each time.', ''];
  for (const [g, members] of [...groups].sort(([a], [b]) => naturalCompare(a, b))) {
    lines.push(`${g} = [`, ...members.map((h) => `    ${data(h)},`), ']', '');
  }
  return lines.join('\n');
}

/** pcc's name-keyed known_hosts lines, re-keyed by `[address]:port` for tools that look keys up by address. */
export function addressKnownHosts(hosts: readonly HostRecord[], keysOf: (host: string) => { type: string; key: string }[]): string {
  const lines: string[] = [];
  for (const h of [...hosts].sort((a, b) => naturalCompare(a.name, b.name))) {
    const where = h.port === 22 ? h.address : `[${h.address}]:${h.port}`;
    for (const k of keysOf(h.name)) lines.push(`${where} ${k.type} ${k.key}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
