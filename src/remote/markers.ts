/**
 * Scripts pcc sends print marker lines (a nonce, a label, maybe a value such
 * as an exit code) so their output can be cut back into pieces. This finds
 * one: `marker` ending in a newline is a whole line; otherwise the rest of its
 * line is the value.
 */
export function findMarker(text: string, marker: string, from = 0): { at: number; value: string; next: number } | undefined {
  const at = text.indexOf(marker, from);
  if (at < 0) return undefined;
  if (marker.endsWith('\n')) return { at, value: '', next: at + marker.length };
  const eol = text.indexOf('\n', at + marker.length);
  if (eol < 0) return undefined;
  return { at, value: text.slice(at + marker.length, eol), next: eol + 1 };
}
