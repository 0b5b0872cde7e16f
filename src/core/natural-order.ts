/**
 * Host names in the order people count them: local2 before local10. On its
 * own so that `pcc status` can sort without loading the pattern matcher.
 */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
