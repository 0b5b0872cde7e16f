import { parse as parseYaml } from 'yaml';
import { PccError } from '../core/errors.js';

/**
 * Ansible inventories (INI and YAML) read into one model, and resolved the
 * way Ansible resolves them: groups nest (`children`), a host is in every
 * ancestor of its groups and in `all`, and a host's variables are its groups'
 * variables in Ansible's order (depth, `ansible_group_priority`, name), with
 * the host's own on top. `ansible-inventory --list` is the reference; the
 * tests compare against it.
 */
export interface Inventory {
  /** Host name → its own variables, merged over every place it is listed. */
  readonly hosts: Map<string, Record<string, unknown>>;
  readonly groups: Map<string, InventoryGroup>;
}

export interface InventoryGroup {
  vars: Record<string, unknown>;
  children: Set<string>;
  hosts: Set<string>;
  priority: number;
}

export interface ResolvedHost {
  name: string;
  /** Every group the host is in, ancestors included, without `all` and `ungrouped`. */
  groups: string[];
  /** What `ansible-inventory --list` shows in `_meta.hostvars`. */
  vars: Record<string, unknown>;
}

function emptyInventory(): Inventory {
  const inv: Inventory = { hosts: new Map(), groups: new Map() };
  group(inv, 'all');
  group(inv, 'ungrouped');
  return inv;
}

function group(inv: Inventory, name: string): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) inv.groups.set(name, (g = { vars: {}, children: new Set(), hosts: new Set(), priority: 1 }));
  return g;
}

function setGroupVar(g: InventoryGroup, key: string, value: unknown, where: string): void {
  if (key === 'ansible_group_priority') {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new PccError(`${where}: ansible_group_priority must be an integer`);
    g.priority = n;
  } else g.vars[key] = value;
}

function addHost(inv: Inventory, groupName: string, name: string, vars: Record<string, unknown>): void {
  const own = inv.hosts.get(name) ?? {};
  Object.assign(own, vars);
  inv.hosts.set(name, own);
  group(inv, groupName).hosts.add(name);
}

/** `web[01:03]`, `db-[a:c]`, `h[1:10:2]`, as Ansible expands them (one range per pattern part, left to right). */
export function expandHostPattern(pattern: string, where: string): string[] {
  const m = /^(.*?)\[([^\]]+)\](.*)$/.exec(pattern);
  if (!m) return [pattern];
  const [, head, range, tail] = m as unknown as [string, string, string, string];
  const parts = range.split(':');
  if (parts.length < 2 || parts.length > 3) throw new PccError(`${where}: host range '[${range}]' is not [start:end] or [start:end:step]`);
  const [start, end, stepText] = parts as [string, string, string?];
  const step = stepText ? Number(stepText) : 1;
  if (!Number.isInteger(step) || step < 1) throw new PccError(`${where}: host range '[${range}]' has a bad step`);
  const out: string[] = [];
  if (/^\d+$/.test(start) && /^\d+$/.test(end)) {
    const width = start.length > 1 && start.startsWith('0') ? start.length : 0;
    for (let i = Number(start); i <= Number(end); i += step) out.push(String(i).padStart(width, '0'));
  } else if (/^[a-z]$/i.test(start) && /^[a-z]$/i.test(end)) {
    for (let c = start.charCodeAt(0); c <= end.charCodeAt(0); c += step) out.push(String.fromCharCode(c));
  } else throw new PccError(`${where}: host range '[${range}]' must be numbers or single letters`);
  if (out.length === 0) throw new PccError(`${where}: host range '[${range}]' is empty`);
  return out.flatMap((x) => expandHostPattern(`${head}${x}${tail}`, where));
}

/** `name`, `name:port`, `[v6]:port`; the port becomes `ansible_port`, as in Ansible. */
function splitPort(pattern: string): { pattern: string; port?: number } {
  const m = /^(.*[^\]:]|\[[^\]]*\]|.*\])?:(\d+)$/.exec(pattern);
  if (m && m[1] && !/\[[^\]]*$/.test(m[1])) return { pattern: m[1], port: Number(m[2]) };
  return { pattern };
}

// ---------------------------------------------------------------- INI

/**
 * INI inventory: `[group]` host lines (`name[:port] k=v ...`, split as POSIX
 * shell words), `[group:vars]` `k=v` lines and `[group:children]` names.
 * Values are read as Python literals, as Ansible's ini plugin does.
 */
export function parseIniInventory(text: string, file: string): Inventory {
  const inv = emptyInventory();
  let current = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  text.split(/\r?\n/).forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    const header = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$/.exec(line);
    if (header) {
      current = header[1]!;
      const kind = header[2] ?? 'hosts';
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children') {
        throw new PccError(`${where}: section [${current}:${kind}] is not :vars or :children`);
      }
      state = kind;
      group(inv, current);
      return;
    }
    if (line.startsWith('[')) throw new PccError(`${where}: not a section header; write [group], [group:vars] or [group:children]`);
    if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) throw new PccError(`${where}: expected key=value in [${current}:vars]`);
      setGroupVar(group(inv, current), line.slice(0, eq).trim(), pythonLiteral(line.slice(eq + 1).trim()), where);
    } else if (state === 'children') {
      const child = shellWords(line, where)[0];
      if (child) {
        group(inv, child);
        group(inv, current).children.add(child);
      }
    } else {
      const words = shellWords(line, where);
      if (words.length === 0) return;
      const vars: Record<string, unknown> = {};
      for (const w of words.slice(1)) {
        const eq = w.indexOf('=');
        if (eq < 0) throw new PccError(`${where}: expected key=value host variable, got '${w}'`);
        vars[w.slice(0, eq)] = pythonLiteral(w.slice(eq + 1));
      }
      const { pattern, port } = splitPort(words[0]!);
      if (port !== undefined) vars.ansible_port = port;
      for (const name of expandHostPattern(pattern, where)) addHost(inv, current, name, vars);
    }
  });
  return inv;
}

/** POSIX shell words with `#` comments, as Python's shlex.split(comments=True). */
export function shellWords(line: string, where: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) break;
    else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new PccError(`${where}: unclosed quote`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let out = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1]!)) j++;
        out += line[j];
      }
      if (j >= line.length) throw new PccError(`${where}: unclosed quote`);
      word = (word ?? '') + out;
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * Python's `ast.literal_eval` for the scalars an inventory holds: ints (also
 * 0x/0o/0b), floats, True/False/None and quoted strings; anything else stays
 * the text it is, as in Ansible.
 */
export function pythonLiteral(text: string): unknown {
  if (/^[-+]?(0|[1-9](_?\d)*)$/.test(text)) return Number(text.replace(/_/g, ''));
  if (/^[-+]?0[xX][0-9a-fA-F]+$/.test(text)) return Number.parseInt(text, 16);
  if (/^[-+]?0[oO][0-7]+$/.test(text)) return Number.parseInt(text.replace(/0[oO]/, ''), 8) * (text.startsWith('-') ? -1 : 1);
  if (/^[-+]?0[bB][01]+$/.test(text)) return Number.parseInt(text.replace(/0[bB]/, ''), 2) * (text.startsWith('-') ? -1 : 1);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(text) && /[.eE]/.test(text)) return Number(text);
  if (text === 'True') return true;
  if (text === 'False') return false;
  if (text === 'None') return null;
  const q = /^(['"])(.*)\1$/s.exec(text);
  if (q && !q[2]!.includes(q[1]!)) return q[2]!.replace(/\\(.)/g, (_, ch: string) => ({ n: '\n', t: '\t', '\\': '\\', "'": "'", '"': '"' })[ch] ?? `\\${ch}`);
  return text;
}

// ---------------------------------------------------------------- YAML

/** YAML inventory: top-level groups, each with `hosts`, `vars` and `children`, as Ansible's yaml plugin reads them. */
export function parseYamlInventory(text: string, file: string): Inventory {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    // The yaml library's message ends in " at line L, column C:" and a code frame; the line goes where the INI parser puts it.
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    const reason = (err as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new PccError(`${file}${line ? `:${line}` : ''}: not valid YAML: ${reason}`);
  }
  const inv = emptyInventory();
  if (doc === null || doc === undefined) return inv;
  if (!isMap(doc)) throw new PccError(`${file}: a YAML inventory is a mapping of group names (usually all:)`);
  for (const [name, body] of Object.entries(doc)) yamlGroup(inv, name, body, file);
  return inv;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function yamlGroup(inv: Inventory, name: string, body: unknown, file: string): void {
  const g = group(inv, name);
  if (body === null || body === undefined) return;
  if (!isMap(body)) throw new PccError(`${file}: group ${name} must be a mapping with hosts, vars or children`);
  for (const [key, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    if (!['hosts', 'vars', 'children'].includes(key)) {
      throw new PccError(`${file}: group ${name} has '${key}'; a group holds only hosts, vars and children`);
    }
    if (!isMap(value)) throw new PccError(`${file}: ${name}.${key} must be a mapping`);
    if (key === 'vars') for (const [k, v] of Object.entries(value)) setGroupVar(g, k, v, `${file}: ${name}.vars`);
    else if (key === 'children') {
      for (const [child, childBody] of Object.entries(value)) {
        yamlGroup(inv, child, childBody, file);
        g.children.add(child);
      }
    } else {
      for (const [pattern, hostVars] of Object.entries(value)) {
        if (hostVars !== null && hostVars !== undefined && !isMap(hostVars)) {
          throw new PccError(`${file}: host ${pattern} in ${name} must have a mapping of variables (or nothing)`);
        }
        const vars = { ...(hostVars ?? {}) };
        const split = splitPort(pattern);
        if (split.port !== undefined) vars.ansible_port = split.port;
        for (const h of expandHostPattern(split.pattern, `${file}: ${name}.hosts`)) addHost(inv, name, h, vars);
      }
    }
  }
}

// ---------------------------------------------------------------- resolving

/** Every host with its groups and the variables Ansible would give it. */
export function resolveInventory(inv: Inventory, file: string): ResolvedHost[] {
  const all = inv.groups.get('all')!;
  const ungrouped = inv.groups.get('ungrouped')!;
  const parents = new Map<string, Set<string>>();
  for (const [name, g] of inv.groups) {
    for (const c of g.children) {
      if (c === 'all') throw new PccError(`${file}: group ${name} lists all as a child`);
      if (!parents.has(c)) parents.set(c, new Set());
      parents.get(c)!.add(name);
    }
  }
  // A group nobody lists hangs under all, as Ansible's reconcile does.
  for (const name of inv.groups.keys()) if (name !== 'all' && !parents.has(name)) all.children.add(name), parents.set(name, new Set(['all']));

  const depth = new Map<string, number>();
  const depthOf = (name: string, seen: string[] = []): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.includes(name)) throw new PccError(`${file}: groups ${[...seen, name].join(' > ')} nest in a loop`);
    const ps = parents.get(name);
    const d = name === 'all' || !ps ? 0 : Math.max(...[...ps].map((p) => depthOf(p, [...seen, name]) + 1));
    depth.set(name, d);
    return d;
  };
  const ancestors = (name: string, out = new Set<string>()): Set<string> => {
    if (out.has(name)) return out;
    out.add(name);
    for (const p of parents.get(name) ?? []) ancestors(p, out);
    return out;
  };

  return [...inv.hosts.keys()].map((name) => {
    const direct = [...inv.groups].filter(([, g]) => g.hosts.has(name)).map(([n]) => n);
    // A host listed only under all (or nowhere) is in ungrouped, as Ansible has it.
    if (direct.every((g) => g === 'all' || g === 'ungrouped')) ungrouped.hosts.add(name);
    const member = new Set<string>(['all']);
    for (const g of inv.groups.keys()) if (inv.groups.get(g)!.hosts.has(name)) for (const a of ancestors(g)) member.add(a);
    const ordered = [...member].sort((a, b) => {
      const ga = inv.groups.get(a)!;
      const gb = inv.groups.get(b)!;
      return depthOf(a) - depthOf(b) || ga.priority - gb.priority || (a < b ? -1 : a > b ? 1 : 0);
    });
    const vars: Record<string, unknown> = {};
    for (const g of ordered) Object.assign(vars, inv.groups.get(g)!.vars);
    Object.assign(vars, inv.hosts.get(name));
    return { name, groups: ordered.filter((g) => g !== 'all' && g !== 'ungrouped'), vars };
  });
}

/** How an inventory value becomes a pcc variable (always a string): scalars as text, the rest as JSON. */
export function varText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
