import picomatch from 'picomatch';
import { CONTROLLER_GROUP, CONTROLLER_NAME } from '../core/controller.js';
import { PccError } from '../core/errors.js';
import { naturalCompare } from '../core/natural-order.js';
import type { HostRecord } from '../state/schema.js';
import { hostGroups } from './groups.js';

export { hostGroups } from './groups.js';

/**
 * Ansible host patterns: terms separated by `:` or `,`. Plain terms are
 * unioned, `&term` intersects, `!term` excludes, applied in that order as
 * Ansible does. `-term` excludes too: bash's history expansion turns an
 * unquoted `!init` typed at a prompt into "event not found", and `-` needs no
 * quoting (no host or group name starts with one). A term is `all`, a host, a
 * group, an alias `<group>-<host>`, or a glob over any of those.
 */
export function selectHosts(pattern: string, hosts: readonly HostRecord[]): HostRecord[] {
  const terms = parsePattern(pattern);
  const universe = new Map(hosts.map((h) => [h.name, h]));
  const union = new Set<string>();
  const intersections: Set<string>[] = [];
  const exclusions = new Set<string>();

  for (const term of terms) {
    const matched = matchTerm(term.name, hosts);
    if (matched.size === 0 && hosts.some((h) => h.provider === term.name)) {
      throw new PccError(`pattern '${pattern}': ${term.name} has no compute hosts; the controller is not in its provider's group, name it as ${CONTROLLER_NAME} or ${CONTROLLER_GROUP}`);
    }
    if (matched.size === 0 && !isGlob(term.name) && term.name !== 'all') {
      throw new PccError(`pattern '${pattern}': no host or group is named '${term.name}'; see pcc hosts for names and groups`);
    }
    if (term.op === 'union') for (const n of matched) union.add(n);
    else if (term.op === 'intersect') intersections.push(matched);
    else for (const n of matched) exclusions.add(n);
  }
  if (!terms.some((t) => t.op === 'union')) for (const n of universe.keys()) union.add(n);

  const selected = [...union].filter((n) => intersections.every((s) => s.has(n)) && !exclusions.has(n));
  if (selected.length === 0) {
    throw new PccError(`pattern '${pattern}' matches no host; see pcc hosts for names and groups`);
  }
  return selected.sort(naturalCompare).map((n) => universe.get(n)!);
}

interface Term {
  op: 'union' | 'intersect' | 'exclude';
  name: string;
}

export function parsePattern(pattern: string): Term[] {
  const parts = pattern.split(/[:,]/).map((p) => p.trim());
  if (pattern.trim() === '' || parts.some((p) => p === '' || p === '&' || p === '!' || p === '-')) {
    throw new PccError(`pattern '${pattern}' has an empty term; write e.g. ec2, 'gpu:&ec2' or all:-init`);
  }
  return parts.map((p) => {
    if (p.startsWith('&')) return { op: 'intersect', name: p.slice(1) };
    if (p.startsWith('!') || p.startsWith('-')) return { op: 'exclude', name: p.slice(1) };
    return { op: 'union', name: p };
  });
}

function isGlob(term: string): boolean {
  return /[*?[\]]/.test(term);
}

function matchTerm(term: string, hosts: readonly HostRecord[]): Set<string> {
  if (term === 'all' || term === '*') return new Set(hosts.map((h) => h.name));
  const test = isGlob(term) ? picomatch(term, { dot: true }) : (s: string) => s === term;
  const out = new Set<string>();
  for (const h of hosts) {
    const names = [h.name, ...hostGroups(h), ...hostGroups(h).map((g) => `${g}-${h.name}`)];
    if (names.some((n) => test(n))) out.add(h.name);
  }
  return out;
}
