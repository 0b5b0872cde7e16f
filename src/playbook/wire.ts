import { errorMessage, HostFailedError } from '../core/errors.js';
import { newNonce, parseFactOutput, renderFactScript } from '../facts/batch.js';
import type { Fact } from '../facts/fact.js';
import type { Change } from '../ops/operation.js';
import type { RemoteShell } from '../remote/remote-shell.js';
import { DEFAULT_TIMEOUTS, type Deadline, type Timeouts } from '../remote/timeouts.js';
import { parseApplyOutput, renderApplyScript, type AppliedOp } from './apply-script.js';

/** One change to apply, under the operation's name (for a deadline's message). */
export interface ChangeToApply {
  name: string;
  change: Change;
}

/** What came back from one round trip. */
export interface Reply {
  /** Per change applied, in order; shorter than asked when the script stopped at a failure or early. */
  applied: AppliedOp[];
  /** Why the change script stopped before every change reported, when it did without a failing change. */
  stoppedEarly?: string;
  /** The facts' values by key; throws HostFailedError when their output cannot be parsed. */
  values(): Map<string, unknown>;
}

/**
 * The runner's wire: one round trip is one script on the host's shell,
 * applying changes and then reading facts, and its output split back per
 * change and per fact. The shell opens on the first round trip.
 */
export class Wire {
  private shell?: Promise<RemoteShell>;

  constructor(
    private readonly open: () => Promise<RemoteShell>,
    private readonly timeouts: Timeouts = DEFAULT_TIMEOUTS,
    /** Marks each part of a round trip's output; tests pin it to compare scripts by text. */
    private readonly nonce: () => string = newNonce,
  ) {}

  /** The script one round trip sends. */
  static script(apply: readonly ChangeToApply[], facts: readonly Fact<unknown>[], nonce: string): string {
    return [renderApplyScript(apply.map((a) => a.change), nonce), renderFactScript(facts, nonce)].filter(Boolean).join('\n');
  }

  async roundTrip(apply: readonly ChangeToApply[], facts: readonly Fact<unknown>[]): Promise<Reply> {
    const nonce = this.nonce();
    this.shell ??= this.open();
    const out = await (await this.shell).run(Wire.script(apply, facts, nonce), deadlineFor(apply, nonce, this.timeouts));
    const { applied, rest } = parseApplyOutput(apply.length, out.stdout, nonce);
    const failed = applied.some((a) => a.exitCode !== 0);
    return {
      applied,
      stoppedEarly: !failed && applied.length < apply.length ? `the change script stopped early (exit ${out.code}): ${lastLines(out.stderr)}` : undefined,
      values: () => {
        if (facts.length === 0) return new Map();
        try {
          return parseFactOutput(facts, rest, nonce);
        } catch (err) {
          throw new HostFailedError(`reading facts failed (exit ${out.code}): ${lastLines(out.stderr) || errorMessage(err)}`);
        }
      },
    };
  }

  close(): void {
    this.shell?.then(
      (s) => s.close(),
      () => undefined,
    );
  }
}

/**
 * A round trip that applies changes gets the apply step's longer limit, and
 * its timeout names the change it stopped in: the first whose end marker had
 * not come back.
 */
function deadlineFor(apply: readonly ChangeToApply[], nonce: string, timeouts: Timeouts): Deadline {
  if (apply.length === 0) return { ms: timeouts.roundTripMs, step: 'while gathering facts' };
  return {
    ms: timeouts.applyMs,
    step: (soFar) => {
      const stuck = apply[parseApplyOutput(apply.length, soFar, nonce).applied.length];
      return stuck ? `during apply of ${stuck.name}` : 'while gathering facts after the changes';
    },
  };
}

export function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ');
}
