/**
 * How long-running core work reports itself. The core never prints: the CLI
 * decides whether this becomes live per-host lines, a TTY display or nothing
 * (`--json`).
 */
/**
 * How a host's step ended, where the message alone does not say: `ok` gets
 * the success mark, `failed` the failure mark. A row left without an outcome
 * when its phase ends is shown as unfinished, never as a success.
 */
export type StepOutcome = 'ok' | 'failed';

export interface Progress {
  /** A host's current step, shown live next to its name; `outcome` when this message ends the host's row. */
  host(name: string, message: string, outcome?: StepOutcome): void;
  /** A line of general information. */
  note(message: string): void;
  /** Something the user should know about but which is not an error. */
  warn(message: string): void;
  /** A named stage of a longer command (controller, hosts, setup, images); it ends the one before. */
  phase?(title: string): void;
}

export const silentProgress: Progress = {
  host() {},
  note() {},
  warn() {},
};
