/**
 * Every duration pcc prints, in one place. Kept by hand rather than
 * pretty-ms: that prints `1m 5s` and `200ms`, and pcc's three forms are each
 * held by tests and by what sits around them.
 * - `elapsed` (the live view and `==>` lines): `3.2s`, `42s`, `2m05s`, padded so a ticking line keeps its width.
 * - `uptime` (`pcc status`): the two largest units, `3m7s`, `4h5m`, `2d3h`, for a narrow column.
 * - `seconds` (timeout messages): `2 s`, `0.2 s`, in the unit of the settings that set them (PCC_TIMEOUT_S).
 */
export type DurationStyle = 'elapsed' | 'uptime' | 'seconds';

export function formatDuration(ms: number, style: DurationStyle): string {
  const s = ms / 1000;
  if (style === 'seconds') return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  if (style === 'elapsed') {
    if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
    return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  }
  const whole = Math.max(0, Math.floor(s));
  const d = Math.floor(whole / 86400);
  const h = Math.floor((whole % 86400) / 3600);
  const m = Math.floor((whole % 3600) / 60);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : `${m}m${whole % 60}s`;
}
