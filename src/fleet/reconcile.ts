/**
 * What acquire, resume, save and release mean, written once for every
 * provider. A provider reports what exists (`list`) and does primitive
 * steps; these pure functions turn "what exists" and "what was asked" into
 * the steps. Tests assert the exact plan for a given state.
 */
import { naturalCompare } from '../core/natural-order.js';
import type { ListedHost, Spec } from '../providers/types.js';

export type { ListedHost, Spec };

export type Step =
  | { op: 'start'; hosts: string[] }
  | { op: 'create'; spec: string; label: string; count: number }
  | { op: 'stop'; hosts: string[] }
  | { op: 'terminate'; hosts: string[] };

/**
 * `acquire --count N` of a spec: exactly N compute hosts of that spec end up
 * running. Stopped ones of the spec start first (oldest names first), then
 * only the missing ones are created. More than N running are left alone
 * (scaling down is `release`); hosts of another spec are never touched.
 */
export function planAcquire(listed: readonly ListedHost[], spec: Pick<Spec, 'key' | 'label'>, count: number): Step[] {
  const mine = listed.filter((h) => h.role === 'compute' && h.spec === spec.key);
  const running = mine.filter((h) => h.state === 'running').length;
  const stopped = sortNames(mine.filter((h) => h.state === 'stopped').map((h) => h.name));
  const wanted = Math.max(0, count - running);
  const start = stopped.slice(0, wanted);
  const create = wanted - start.length;
  const steps: Step[] = [];
  if (start.length > 0) steps.push({ op: 'start', hosts: start });
  if (create > 0) steps.push({ op: 'create', spec: spec.key, label: spec.label, count: create });
  return steps;
}

/** `resume`: start every stopped host (the controller too), never create one. */
export function planResume(listed: readonly ListedHost[]): Step[] {
  const stopped = sortNames(listed.filter((h) => h.state === 'stopped').map((h) => h.name));
  return stopped.length > 0 ? [{ op: 'start', hosts: stopped }] : [];
}

/** `save`: stop every running host, and put away a stopped one that was not (see `unsaved`). */
export function planSave(listed: readonly ListedHost[]): Step[] {
  const running = sortNames(listed.filter((h) => h.state === 'running' || h.unsaved).map((h) => h.name));
  return running.length > 0 ? [{ op: 'stop', hosts: running }] : [];
}

/** `release`: terminate the named hosts, nothing else. */
export function planRelease(listed: readonly ListedHost[], names: readonly string[]): Step[] {
  const known = new Set(listed.map((h) => h.name));
  const hosts = sortNames(names.filter((n) => known.has(n)));
  return hosts.length > 0 ? [{ op: 'terminate', hosts }] : [];
}

/** One line per step, as `--dry` prints it. */
export function describeStep(provider: string, step: Step): string {
  switch (step.op) {
    case 'start':
      return `${provider}: start ${step.hosts.join(', ')}`;
    case 'create':
      return `${provider}: create ${step.count} × ${step.label}`;
    case 'stop':
      return `${provider}: stop ${step.hosts.join(', ')}`;
    case 'terminate':
      return `${provider}: terminate ${step.hosts.join(', ')}`;
  }
}

function sortNames(names: string[]): string[] {
  return [...names].sort(naturalCompare);
}
