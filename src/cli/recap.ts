import type { RunResult } from '../playbook/result.js';
import { table } from './table.js';

/** Ansible-style recap, plus what changed (and diffs under --dry). */
export function renderRecap(result: RunResult): string {
  const out: string[] = [];
  for (const h of result.hosts) {
    for (const op of h.ops) {
      if (op.status === 'changed') out.push(`${h.host} | ${op.uncertain ? 'may change' : result.dry ? 'would change' : 'changed'}: ${op.name} (${op.summary ?? ''})`);
      if (op.status === 'failed') out.push(`${h.host} | failed: ${op.name}: ${op.error ?? ''}`);
      if (result.dry && op.diff) out.push(op.diff.trimEnd());
    }
    for (const f of h.guessed ?? []) out.push(`${h.host} | dry run read ${f} as it is now, before an earlier change; later steps may differ in a real run`);
    if (h.error && !h.ops.some((o) => o.status === 'failed')) out.push(`${h.host} | ${h.status}: ${h.error}`);
  }
  out.push('', `RECAP ${result.playbook}${result.dry ? ' (dry run: nothing was changed)' : ''}`);
  out.push(
    table(
      ['host', 'ok', 'changed', 'failed', 'unreachable'],
      result.hosts.map((h) => [h.host, h.ok, h.changed, h.failed, h.unreachable ? 1 : 0]),
    ),
  );
  return out.join('\n');
}
