import { formatDuration } from '../core/duration.js';

/**
 * How long pcc waits for a host once it is connected. The SSH handshake has
 * its own limit (PCC_CONNECT_TIMEOUT_MS) and keepalives catch a peer that
 * stops answering; these catch a peer that answers keepalives but whose
 * session never finishes (a login shell that hangs, a ForceCommand), so no
 * host can hold a run forever.
 */
export interface Timeouts {
  /** One ordinary round trip: facts, a short script. */
  roundTripMs: number;
  /** The round trip that does the work: a playbook's changes (package installs, image pulls), `pcc exec`'s command. */
  applyMs: number;
}

/** The settings' defaults (PCC_TIMEOUT_S, PCC_APPLY_TIMEOUT_S), in seconds; also what a library caller gets. */
export const DEFAULT_TIMEOUT_S = 120;
export const DEFAULT_APPLY_TIMEOUT_S = 1800;

export const DEFAULT_TIMEOUTS: Timeouts = { roundTripMs: DEFAULT_TIMEOUT_S * 1000, applyMs: DEFAULT_APPLY_TIMEOUT_S * 1000 };

export function timeoutsFrom(values: { PCC_TIMEOUT_S: number; PCC_APPLY_TIMEOUT_S: number }): Timeouts {
  return { roundTripMs: values.PCC_TIMEOUT_S * 1000, applyMs: values.PCC_APPLY_TIMEOUT_S * 1000 };
}

/** One round trip's limit, and what the host was doing, for the message when it runs out. */
export interface Deadline {
  ms: number;
  /** "while gathering facts"; a function reads the output that came back before the limit, to name the step it stopped in. */
  step: string | ((stdoutSoFar: string) => string);
}

export function timedOutMessage(deadline: Deadline, stdoutSoFar: string): string {
  const step = typeof deadline.step === 'string' ? deadline.step : deadline.step(stdoutSoFar);
  return `timed out after ${formatDuration(deadline.ms, 'seconds')} ${step}`;
}
