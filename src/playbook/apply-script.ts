import { findMarker } from '../remote/markers.js';
import { renderCommand, type Command } from '../remote/shell.js';

/**
 * All pending changes of a host as one sh script. Each operation's output
 * (stderr folded in) ends with a marker carrying its exit code; the first
 * failure stops the script, so later operations never run on a broken host.
 */
export function renderApplyScript(changes: readonly { commands: readonly Command[] }[], nonce: string): string {
  return changes
    .map((c, i) => {
      const body = c.commands.map(renderCommand).join(' && ');
      return `{ ${body}\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '${nonce} op ${i}' "$__pcc_rc"; [ "$__pcc_rc" -eq 0 ] || exit 0`;
    })
    .join('\n');
}

export interface AppliedOp {
  exitCode: number;
  output: string;
}

/** Splits the script's output back per operation; a missing marker means the op never ran. */
export function parseApplyOutput(count: number, stdout: string, nonce: string): { applied: AppliedOp[]; rest: string } {
  const applied: AppliedOp[] = [];
  let from = 0;
  for (let i = 0; i < count; i++) {
    const end = findMarker(stdout, `\n${nonce} op ${i} `, from);
    if (!end || !/^\d+$/.test(end.value)) break;
    applied.push({ exitCode: Number(end.value), output: stdout.slice(from, end.at).trim() });
    from = end.next;
  }
  return { applied, rest: stdout.slice(from) };
}
