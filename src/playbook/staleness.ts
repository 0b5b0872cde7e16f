import type { Fact } from '../facts/fact.js';
import { ANYTHING, isSystemPart, SYSTEM, treeRoot } from '../facts/scope.js';

/**
 * The one rule that decides whether a change to `touches` can alter what
 * `fact` read (see facts/scope.ts for the vocabulary). Stable facts
 * (hardware) never go stale; a change nobody can bound makes every other
 * fact stale; otherwise some read and some touch must meet on one axis:
 *
 * - system parts meet when one contains the other: `SYSTEM` meets every
 *   part (a package install may start services), a service meets
 *   itself and the whole system, never another service;
 * - a touched path meets a read of the same path or of a directory above it
 *   (ops never remove trees, so a change to a directory leaves its children
 *   alone); a touched `tree(p)` meets every read at or under p.
 *
 * The axes never meet: starting a service rewrites no file a fact names, and
 * a path-only change leaves the system's parts alone.
 */
export function staleAfter(fact: Fact<unknown>, touches: readonly string[]): boolean {
  if (fact.stable) return false;
  if (touches.includes(ANYTHING)) return true;
  const reads = fact.reads ?? [SYSTEM];
  return reads.some((read) => touches.some((touched) => alters(touched, read)));
}

function alters(touched: string, read: string): boolean {
  const systemTouched = isSystemPart(touched);
  if (systemTouched !== isSystemPart(read)) return false;
  if (systemTouched) return within(touched, read) || within(read, touched);
  const root = treeRoot(touched);
  if (root !== undefined) return within(read, root);
  return within(touched, read);
}

/** `inner` is `outer` or lies below it. */
function within(inner: string, outer: string): boolean {
  if (inner === outer) return true;
  const dir = outer.endsWith('/') ? outer : `${outer}/`;
  return inner.startsWith(dir);
}
