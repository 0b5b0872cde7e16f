/**
 * One vocabulary for what a fact's answer depends on (`Fact.reads`) and what a
 * change may alter (`Operation.touches`), so one rule (playbook/staleness.ts)
 * decides which facts a change makes stale. Two axes:
 *
 * - paths: a file or directory itself (`/etc/x`; reading a directory sees its
 *   children change), or `tree(path)`, everything at and under a path (what
 *   a mount changes);
 * - the running system: `SYSTEM`, the system at large, and parts of it:
 *   `serviceScope(unit)`, `packageScope(name)`, `mountScope(path)`. A fact that
 *   names no reads depends on the whole system.
 *
 * `ANYTHING` is a change nobody can bound (a command without `creates`).
 */
export const SYSTEM = '<system>';
export const ANYTHING = '<any>';

/** A systemd unit's state: enabled, active. */
export function serviceScope(unit: string): string {
  return `${SYSTEM}/service/${unit}`;
}

/** Whether a package is installed. */
export function packageScope(name: string): string {
  return `${SYSTEM}/package/${name}`;
}

/** What is mounted at a path. */
export function mountScope(path: string): string {
  return `${SYSTEM}/mount${path === '/' ? '' : path}`;
}

const TREE = '/**';

/** Everything at and under `path`: a mount there changes what every path below reads. */
export function tree(path: string): string {
  return `${path === '/' ? '' : path}${TREE}`;
}

export function isSystemPart(scope: string): boolean {
  return scope === SYSTEM || scope.startsWith(`${SYSTEM}/`);
}

/** The root of a `tree(path)`, or undefined for a plain path. */
export function treeRoot(scope: string): string | undefined {
  return scope.endsWith(TREE) ? scope.slice(0, -TREE.length) || '/' : undefined;
}
