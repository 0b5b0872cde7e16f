import { PccError } from '../core/errors.js';
import { AUTOSTOP_RUN_DIR } from './heard.js';

/**
 * The autostop setting and what the agent reports, without the agent itself:
 * what `pcc status` and the flags need (the agent's ops load with a playbook).
 */

/** What the host record keeps (`pcc autostop`, `acquire --autostop`). */
export interface AutostopSetting {
  idleMinutes: number;
  /** EC2: terminate on shutdown instead of stop. */
  down: boolean;
  leaseMinutes?: number;
}

export const AGENT_STATE = `${AUTOSTOP_RUN_DIR}/state`;

/** `30m`, `12h`, `1d`, `90` (minutes) to whole minutes; anything else is a one-line error naming the flag. */
// By hand, not `ms` or parse-duration: they read a bare number as milliseconds and take `1.5h` or `30s`, which are no whole minutes.
export function parseMinutes(text: string, flag: string): number {
  const m = /^(\d+)\s*(m|min|h|d)?$/.exec(text.trim());
  const n = m ? Number(m[1]) * (m[2] === 'h' ? 60 : m[2] === 'd' ? 1440 : 1) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 525_600) throw new PccError(`${flag} ${text}: give a duration such as 30m, 12h or 1d (at least 1m)`);
  return n;
}

export function formatMinutes(n: number): string {
  return n % 1440 === 0 ? `${n / 1440}d` : n % 60 === 0 ? `${n / 60}h` : `${n}m`;
}

export function describeSetting(s: AutostopSetting): string {
  return [`idle ${formatMinutes(s.idleMinutes)}`, ...(s.leaseMinutes ? [`lease ${formatMinutes(s.leaseMinutes)}`] : []), ...(s.down ? ['down'] : [])].join(', ');
}

/** What the agent wrote at its last check. */
export interface AgentState {
  checked: number;
  lastBusy: number;
  heard: number;
  idleSeconds: number;
  leaseSeconds: number;
  checkSeconds: number;
  busy: string;
  stopping: string;
}

export function parseAgentState(text: string): AgentState | undefined {
  const kv = Object.fromEntries(text.split('\n').flatMap((l) => (/^([a-z_]+)=(.*)$/.exec(l) ? [[l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]] : [])));
  const num = (k: string) => (/^\d+$/.test(kv[k] ?? '') ? Number(kv[k]) : NaN);
  const s: AgentState = {
    checked: num('checked'),
    lastBusy: num('last_busy'),
    heard: num('heard'),
    idleSeconds: num('idle_s'),
    leaseSeconds: num('lease_s'),
    checkSeconds: num('check_s'),
    busy: kv.busy ?? '',
    stopping: kv.stopping ?? '',
  };
  return [s.checked, s.lastBusy, s.heard, s.idleSeconds, s.leaseSeconds].some(Number.isNaN) ? undefined : s;
}

/**
 * Seconds until the agent would power the host off, at `now`: by the idle
 * period if nothing was busy at its last check, by the lease (counting from
 * `heardAt`: the status that asks has just been heard) in any case.
 * Undefined: busy, and no lease.
 */
export function secondsUntilStop(s: AgentState, now: number, heardAt = s.heard): number | undefined {
  const idle = s.busy ? Infinity : s.idleSeconds - (now - s.lastBusy);
  const lease = s.leaseSeconds > 0 ? s.leaseSeconds - (now - heardAt) : Infinity;
  const left = Math.min(idle, lease);
  return Number.isFinite(left) ? Math.max(0, left) : undefined;
}
