import { UserInputError } from '../core/errors.js';
import { checkProjectFolder, openProject, type Project } from '../core/project.js';
import type { ProviderContext } from '../providers/types.js';
import { loadSettings, withOverrides, type Settings } from '../settings/load.js';
import { setScriptTrace } from '../remote/trace.js';
import { StateStore } from '../state/store.js';
import { redactor } from './redact.js';
import { chooseMode, createProgress, type CliProgress } from './progress.js';

export interface GlobalArgs {
  project?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  /** --timeout, on the commands that work on hosts. */
  timeout?: number;
}

/** What every command gets: the project, its settings and state, and output. */
export interface CliContext {
  readonly project: Project;
  readonly json: boolean;
  readonly quiet: boolean;
  settings(): Settings;
  state(): StateStore;
  /** A result line on stdout (not under --json); held back while a live view draws. */
  out(line: string): void;
  err(line: string): void;
  /** What to run next, after work that leaves some for the user (not under --json or --quiet). */
  next(commands: string[]): void;
  /** Live per-host progress on stderr; silent under --json. */
  progress(): CliProgress;
  /** Under --json, the one document written to stdout at the end. */
  emitJson(value: unknown): void;
  /** What the core needs: project, settings, state and progress. */
  core(options?: { dry?: boolean }): ProviderContext;
  /** Ends the live view and prints what waited for it. */
  finish(): Promise<void>;
}

/** `startsProject`: the command may make a new project in an empty folder (init, up, acquire). */
export function createContext(args: GlobalArgs, command: string, startsProject = false): CliContext {
  const project = openProject({ project: args.project });
  if (args.project !== undefined) checkProjectFolder(project, args.project, startsProject);
  const timeoutS = checkTimeoutFlag(args.timeout);
  const json = Boolean(args.json);
  const quiet = Boolean(args.quiet);
  let settings: Settings | undefined;
  let state: StateStore | undefined;
  let progress: CliProgress | undefined;
  const held: string[] = [];
  const write = (line: string) => {
    if (progress?.active()) held.push(line);
    else process.stdout.write(`${line}\n`);
  };
  const ctx: CliContext = {
    project,
    json,
    quiet,
    settings: () => {
      if (!settings) {
        settings = loadSettings(project);
        if (timeoutS !== undefined) settings = withOverrides(settings, { PCC_TIMEOUT_S: timeoutS, PCC_APPLY_TIMEOUT_S: timeoutS }, '--timeout');
        if (args.verbose) traceScripts(settings);
      }
      return settings;
    },
    state: () => (state ??= new StateStore(project, (m) => process.stderr.write(`${m}\n`))),
    out: (line) => {
      if (!json) write(line);
    },
    err: (line) => process.stderr.write(`${line}\n`),
    next: (commands) => {
      if (json || quiet || commands.length === 0) return;
      write('');
      write(commands.length === 1 ? `next: ${commands[0]}` : 'next:');
      if (commands.length > 1) for (const c of commands) write(`  ${c}`);
    },
    progress: () => (progress ??= createProgress(chooseMode({ json, quiet }), command)),
    emitJson: (value) => write(JSON.stringify(value, null, 2)),
    core(options = {}) {
      return { project, settings: this.settings(), state: this.state(), progress: this.progress(), dry: Boolean(options.dry) };
    },
    async finish() {
      await progress?.end();
      for (const line of held.splice(0)) process.stdout.write(`${line}\n`);
    },
  };
  return ctx;
}

/** --timeout is whole seconds, as PCC_TIMEOUT_S is; a bad value is refused (exit 1, as any flag value) before anything runs. */
function checkTimeoutFlag(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  if (!Number.isInteger(seconds) || seconds < 1) throw new UserInputError('--timeout takes a whole number of seconds, 1 or more (e.g. --timeout 300)');
  return seconds;
}

/** --verbose: every script sent to a host, on stderr, with secrets redacted. */
function traceScripts(settings: Settings): void {
  const redact = redactor(settings);
  setScriptTrace((host, script) => {
    const body = redact(script).replace(/\n+$/, '');
    process.stderr.write(`--- ${host}: script sent\n${body}\n--- end of ${host}'s script\n`);
  });
}
