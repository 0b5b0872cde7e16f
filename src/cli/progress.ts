import { formatDuration } from '../core/duration.js';
import type { Progress, StepOutcome } from '../core/progress.js';

/**
 * How the CLI shows the core's progress, by mode:
 * - live: a listr2 view on a terminal, one row per host with its current step,
 *   a spinner and its elapsed time, grouped by phase, and a total at the end;
 * - lines: one line per event on stderr (not a terminal, CI, `TERM=dumb`);
 * - quiet: warnings only (`--quiet`; errors and the recap are printed anyway);
 * - json: warnings only, so that stdout holds the one JSON document.
 */
export type ProgressMode = 'live' | 'lines' | 'quiet' | 'json';

export interface CliProgress extends Progress {
  phase(title: string): void;
  /** A live view is drawing: stdout waits until it ends. */
  active(): boolean;
  /** Ends the live view (idempotent) and prints the total time of the phases. */
  end(): Promise<void>;
  /** Resolves once every event so far is on the screen: a question asked after it comes below them. */
  settled(): Promise<void>;
}

export function chooseMode(options: { json: boolean; quiet: boolean; env?: NodeJS.ProcessEnv; tty?: boolean }): ProgressMode {
  const env = options.env ?? process.env;
  if (options.json) return 'json';
  if (options.quiet) return 'quiet';
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  return tty && !env.CI && env.TERM !== 'dumb' ? 'live' : 'lines';
}

export function createProgress(mode: ProgressMode, command: string): CliProgress {
  if (mode === 'live') return liveProgress(command);
  if (mode === 'lines') return lineProgress();
  return {
    host() {},
    note() {},
    phase() {},
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    active: () => false,
    end: async () => {},
    settled: async () => {},
  };
}

/** One line per event: works the same on a TTY, in CI logs and piped to a file. */
function lineProgress(): CliProgress {
  const started = Date.now();
  let phase: { title: string; at: number } | undefined;
  const closePhase = () => {
    if (phase) process.stderr.write(`==> ${phase.title}: ${formatDuration(Date.now() - phase.at, 'elapsed')}\n`);
    phase = undefined;
  };
  let phases = 0;
  const said = new Map<string, string>();
  return {
    host: (name, message, outcome) => {
      // A message repeated only to give its outcome (a live view's mark) is not printed twice.
      if (outcome && said.get(name) === message) return;
      said.set(name, message);
      process.stderr.write(`${name} | ${message}\n`);
    },
    note: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    phase(title) {
      closePhase();
      phases++;
      phase = { title, at: Date.now() };
      process.stderr.write(`==> ${title}\n`);
    },
    active: () => false,
    settled: async () => {},
    async end() {
      closePhase();
      if (phases > 1) process.stderr.write(`total ${formatDuration(Date.now() - started, 'elapsed')}\n`);
      phases = 0;
    },
  };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface HostRow {
  name: string;
  message: string;
  /** How the row ended, when a message said so (explicitly, or by its first word). */
  outcome?: StepOutcome;
  at: number;
  /** Resolves when the row ends: with its mark, `unfinished` when its phase ended first. */
  done: Promise<RowMark>;
  end(mark: RowMark): void;
  /** The mark it ended with, once it has. */
  ended?: RowMark;
  task?: { title: string; skip(message?: string): void };
  /** Its task in the phase's subtasks, which the renderer draws. */
  entry?: unknown;
}

interface LivePhase {
  title: string;
  at: number;
  rows: Map<string, HostRow>;
  done: Deferred;
  running: Promise<unknown>;
  task?: { title: string; output: string };
  subtasks?: unknown[];
  ready: Promise<void>;
}

/** Messages that end a host's row without saying how: the runner's and the image builder's last words. */
function outcomeOf(message: string): StepOutcome | undefined {
  if (/^(failed|unreachable)\b/.test(message)) return 'failed';
  if (/^(done|planned|pushed|skipped|saved|destroyed|running at|would)\b/.test(message)) return 'ok';
  return undefined;
}

/** The mark a host's row gets in the live view: ✔, ✖, or ↓ with "(unfinished)" for a row whose phase ended before it said how it went. */
export type RowMark = StepOutcome | 'unfinished';

/**
 * The one rule for a row's mark: the outcome its last message gave (or its
 * first word implies); a row still without one when the phase ends is
 * unfinished. Only `ok` gets the success mark.
 */
export function rowMark(message: string, outcome: StepOutcome | undefined, phaseEnded: boolean): RowMark | undefined {
  const said = outcome ?? outcomeOf(message);
  if (said) return said;
  return phaseEnded ? 'unfinished' : undefined;
}

/**
 * The listr2 view. Hosts are not known before they report, so each host row
 * is a one-task listr of its own, run silently, whose task joins the phase's
 * subtasks: the phase's default renderer draws it with its spinner and time.
 */
function liveProgress(command: string): CliProgress {
  const started = Date.now();
  const listr = import('listr2');
  let current: LivePhase | undefined;
  let phases = 0;
  const later: string[] = [];
  let ticker: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  // Events apply in order, after the phase they belong to has started drawing.
  const enqueue = (fn: () => Promise<void> | void) => {
    queue = queue.then(fn).catch(() => undefined);
  };

  const width = () => Math.max(8, ...[...(current?.rows.keys() ?? [])].map((n) => n.length));
  const titleOf = (row: HostRow) => `${row.name.padEnd(width())}  ${row.message}  ${formatDuration(Date.now() - row.at, 'elapsed')}`;
  const redraw = () => {
    if (!current) return;
    if (current.task) current.task.title = `${current.title}  ${formatDuration(Date.now() - current.at, 'elapsed')}`;
    for (const row of current.rows.values()) if (row.task && !rowMark(row.message, row.outcome, false)) row.task.title = titleOf(row);
  };

  const startPhase = async (title: string) => {
    await finishPhase();
    const { Listr, ListrLogger, ProcessOutput, PRESET_TIMER } = await listr;
    phases++;
    let ready!: () => void;
    const phase: LivePhase = { title, at: Date.now(), rows: new Map(), done: deferred(), running: Promise.resolve(), ready: new Promise((r) => (ready = r)) };
    const root = new Listr(
      [
        {
          title,
          task: (_ctx, task) => {
            phase.task = task as unknown as LivePhase['task'];
            const sub = task.newListr([{ task: () => phase.done.promise }], { concurrent: true, exitOnError: false });
            phase.subtasks = (sub as unknown as { tasks: unknown[] }).tasks;
            ready();
            return sub;
          },
        },
      ],
      {
        exitOnError: false,
        registerSignalListeners: false,
        rendererOptions: {
          collapseSubtasks: false,
          timer: PRESET_TIMER,
          // The live view goes to stderr: stdout is for results and --json.
          logger: new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) }),
        },
      },
    );
    phase.running = root.run().catch(() => undefined);
    current = phase;
    ticker ??= setInterval(redraw, 1000);
    ticker.unref();
    await phase.ready;
  };

  const addRow = async (name: string, message: string) => {
    const { Listr } = await listr;
    const phase = current!;
    let end!: (mark: RowMark) => void;
    const done = new Promise<RowMark>((resolve) => (end = resolve));
    const row: HostRow = { name, message, at: Date.now(), done, end };
    phase.rows.set(name, row);
    const one = new Listr(
      [
        {
          title: titleOf(row),
          task: async (_ctx, task) => {
            row.task = task;
            const mark = await row.done;
            // listr2 draws ✔ for a task that returns, ✖ for one that throws, and ↓ for a skipped one.
            if (mark === 'failed') throw new Error(`${name.padEnd(width())}  ${row.message}`);
            if (mark === 'unfinished') task.skip(`${name.padEnd(width())}  ${row.message} (unfinished)`);
          },
        },
      ],
      { renderer: 'silent', exitOnError: false, registerSignalListeners: false },
    );
    void one.run().catch(() => undefined);
    row.entry = (one as unknown as { tasks: unknown[] }).tasks[0];
    phase.subtasks!.push(row.entry);
  };

  const update = async (name: string, message: string, outcome: StepOutcome | undefined) => {
    if (!current) await startPhase(command);
    const row = current!.rows.get(name);
    if (row?.ended) {
      // A host that goes on after a step that ended it ("running at", then "waiting for ssh"):
      // its ended row gives way to a new one, so the mark shown is always its latest step's.
      const at = current!.subtasks!.indexOf(row.entry);
      if (at >= 0) current!.subtasks!.splice(at, 1);
      current!.rows.delete(name);
    }
    if (!current!.rows.get(name)) await addRow(name, message);
    const r = current!.rows.get(name)!;
    r.message = message;
    r.outcome = outcome;
    const mark = rowMark(message, outcome, false);
    if (r.task) r.task.title = mark ? `${name.padEnd(width())}  ${message}` : titleOf(r);
    if (mark) {
      r.ended = mark;
      r.end(mark);
    }
  };

  const finishPhase = async () => {
    const phase = current;
    if (!phase) return;
    current = undefined;
    // A row that never said how it ended is not a success: it is drawn unfinished.
    for (const row of phase.rows.values()) row.end(rowMark(row.message, row.outcome, true)!);
    if (phase.task) phase.task.title = phase.title;
    phase.done.resolve();
    await phase.running;
    for (const line of later.splice(0)) process.stderr.write(`${line}\n`);
  };

  let ended: Promise<void> | undefined;
  let drawing = false;
  return {
    host: (name, message, outcome) => {
      drawing = true;
      enqueue(() => update(name, message, outcome));
    },
    note: (m) =>
      enqueue(async () => {
        if (current?.task) current.task.output = m;
        else process.stderr.write(`${m}\n`);
      }),
    warn: (m) =>
      enqueue(() => {
        if (current) later.push(`warning: ${m}`);
        else process.stderr.write(`warning: ${m}\n`);
      }),
    phase: (title) => {
      drawing = true;
      enqueue(() => startPhase(title));
    },
    active: () => drawing && !ended,
    settled: () => queue,
    end() {
      if (!ended) {
        if (ticker) clearInterval(ticker);
        enqueue(async () => {
          await finishPhase();
          if (phases > 0) process.stderr.write(`total ${formatDuration(Date.now() - started, 'elapsed')}\n`);
        });
        ended = queue;
      }
      return ended;
    },
  };
}
