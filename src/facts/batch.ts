import { randomBytes } from 'node:crypto';
import { findMarker } from '../remote/markers.js';
import type { Fact, FactGroup } from './fact.js';

/**
 * Renders facts as one sh script with markers that carry each part's exit
 * code, and parses the combined output back. Facts of a group share one part.
 * The nonce keeps a file that happens to contain a marker-like line from
 * confusing the parser.
 */
export function newNonce(): string {
  return `@@pcc-${randomBytes(6).toString('hex')}`;
}

type Part =
  | { kind: 'one'; fact: Fact<unknown> }
  | { kind: 'group'; group: FactGroup<unknown>; facts: Fact<unknown>[] };

/** Facts in the order given; a group's part stands where its first member was asked for. */
function partsOf(facts: readonly Fact<unknown>[]): Part[] {
  const parts: Part[] = [];
  const groups = new Map<string, Extract<Part, { kind: 'group' }>>();
  for (const fact of facts) {
    if (!fact.group) {
      parts.push({ kind: 'one', fact });
      continue;
    }
    const existing = groups.get(fact.group.of.id);
    if (existing) existing.facts.push(fact);
    else {
      const part = { kind: 'group' as const, group: fact.group.of, facts: [fact] };
      groups.set(fact.group.of.id, part);
      parts.push(part);
    }
  }
  return parts;
}

function partScript(part: Part): string {
  if (part.kind === 'one') return part.fact.script;
  return part.group.script(part.facts.map((f) => f.group!.arg));
}

export function renderFactScript(facts: readonly Fact<unknown>[], nonce: string): string {
  return partsOf(facts)
    .map(
      (part, i) =>
        `printf '%s\\n' '${nonce} fact ${i}'; ( ${partScript(part)}\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '${nonce} end ${i}' "$?"`,
    )
    .join('\n');
}

export function parseFactOutput(facts: readonly Fact<unknown>[], stdout: string, nonce: string): Map<string, unknown> {
  const values = new Map<string, unknown>();
  let from = 0;
  partsOf(facts).forEach((part, i) => {
    const shown = part.kind === 'one' ? part.fact.key : `${part.group.id} (${part.facts.length})`;
    const begin = findMarker(stdout, `${nonce} fact ${i}\n`, from);
    if (!begin) throw new Error(`fact ${shown}: no output (the script stopped early)`);
    const end = findMarker(stdout, `\n${nonce} end ${i} `, begin.next);
    if (!end) throw new Error(`fact ${shown}: output was cut short`);
    const body = stdout.slice(begin.next, end.at);
    const code = Number(end.value);
    from = end.next;
    if (part.kind === 'one') {
      values.set(part.fact.key, part.fact.parse(body, code));
      return;
    }
    const parsed = part.group.parse(body, part.facts.map((f) => f.group!.arg));
    part.facts.forEach((f, k) => values.set(f.key, parsed[k]));
  });
  return values;
}
