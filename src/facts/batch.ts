import { randomBytes } from 'node:crypto';
import type { Fact } from './fact.js';

/**
 * Renders facts as one sh script with markers that carry each snippet's exit
 * code, and parses the combined output back. The nonce keeps a file that
 * happens to contain a marker-like line from confusing the parser.
 */
export function newNonce(): string {
  return `@@pcc-${randomBytes(6).toString('hex')}`;
}

export function renderFactScript(facts: readonly Fact<unknown>[], nonce: string): string {
  return facts
    .map(
      (f, i) =>
        `printf '%s\\n' '${nonce} fact ${i}'; ( ${f.script}\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '${nonce} end ${i}' "$?"`,
    )
    .join('\n');
}

export function parseFactOutput(
  facts: readonly Fact<unknown>[],
  stdout: string,
  nonce: string,
): Map<string, unknown> {
  const values = new Map<string, unknown>();
  facts.forEach((fact, i) => {
    const begin = `${nonce} fact ${i}\n`;
    const endRe = new RegExp(`\\n${escapeRe(nonce)} end ${i} (\\d+)\\n`);
    const start = stdout.indexOf(begin);
    if (start < 0) throw new Error(`fact ${fact.key}: no output (the script stopped early)`);
    const rest = stdout.slice(start + begin.length);
    const end = endRe.exec(rest);
    if (!end) throw new Error(`fact ${fact.key}: output was cut short`);
    values.set(fact.key, fact.parse(rest.slice(0, end.index), Number(end[1])));
  });
  return values;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
