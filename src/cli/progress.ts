import type { Progress } from '../core/progress.js';

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
  };
}

export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

/** One line per event: works the same on a TTY, in CI logs and piped to a file. */
function lineProgress(): CliProgress {
  const started = Date.now();
  let phase: { title: string; at: number } | undefined;
  const closePhase = () => {
    if (phase) process.stderr.write(`==> ${phase.title}: ${formatElapsed(Date.now() - phase.at)}\n`);
    phase = undefined;
  };
  let phases = 0;
  return {
    host: (name, message) => process.stderr.write(`${name} | ${message}\n`),
    note: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    phase(title) {
      closePhase();
      phases++;
      phase = { title, at: Date.now() };
      process.stderr.write(`==> ${title}\n`);
    },
    active: () => false,
    async end() {
      closePhase();
      if (phases > 1) process.stderr.write(`total ${formatElapsed(Date.now() - started)}\n`);
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
  at: number;
  done: Deferred;
  task?: { title: string };
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

/** Messages that end a host's row: the runner's and the image builder's last words. */
function outcomeOf(message: string): 'ok' | 'failed' | undefined {
  if (/^(failed|unreachable)\b/.test(message)) return 'failed';
  if (/^(done|planned|pushed|skipped|saved|destroyed|running at)\b/.test(message)) return 'ok';
  return undefined;
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
  const titleOf = (row: HostRow) => `${row.name.padEnd(width())}  ${row.message}  ${formatElapsed(Date.now() - row.at)}`;
  const redraw = () => {
    if (!current) return;
    if (current.task) current.task.title = `${current.title}  ${formatElapsed(Date.now() - current.at)}`;
    for (const row of current.rows.values()) if (row.task && !outcomeOf(row.message)) row.task.title = titleOf(row);
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
    const row: HostRow = { name, message, at: Date.now(), done: deferred() };
    phase.rows.set(name, row);
    const one = new Listr(
      [
        {
          title: titleOf(row),
          task: async (_ctx, task) => {
            row.task = task;
            await row.done.promise;
          },
        },
      ],
      { renderer: 'silent', exitOnError: false, registerSignalListeners: false },
    );
    void one.run().catch(() => undefined);
    phase.subtasks!.push((one as unknown as { tasks: unknown[] }).tasks[0]);
  };

  const update = async (name: string, message: string) => {
    if (!current) await startPhase(command);
    const row = current!.rows.get(name);
    if (!row) await addRow(name, message);
    const r = current!.rows.get(name)!;
    r.message = message;
    const outcome = outcomeOf(message);
    if (r.task) r.task.title = outcome ? `${name.padEnd(width())}  ${message}` : titleOf(r);
    if (outcome === 'ok') r.done.resolve();
    if (outcome === 'failed') r.done.reject(new Error(`${name.padEnd(width())}  ${message}`));
  };

  const finishPhase = async () => {
    const phase = current;
    if (!phase) return;
    current = undefined;
    for (const row of phase.rows.values()) row.done.resolve();
    if (phase.task) phase.task.title = phase.title;
    phase.done.resolve();
    await phase.running;
    for (const line of later.splice(0)) process.stderr.write(`${line}\n`);
  };

  let ended: Promise<void> | undefined;
  let drawing = false;
  return {
    host: (name, message) => {
      drawing = true;
      enqueue(() => update(name, message));
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
    end() {
      if (!ended) {
        if (ticker) clearInterval(ticker);
        enqueue(async () => {
          await finishPhase();
          if (phases > 0) process.stderr.write(`total ${formatElapsed(Date.now() - started)}\n`);
        });
        ended = queue;
      }
      return ended;
    },
  };
}
