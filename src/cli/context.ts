import { UserInputError } from '../core/errors.js';
import { checkProjectFolder, openProject, type Project } from '../core/project.js';
import type { ProviderContext } from '../providers/types.js';
import { loadSettings, withOverrides, type Settings } from '../settings/load.js';
import { setScriptTrace } from '../remote/trace.js';
import { StateStore } from '../state/store.js';
import { installRedaction } from './redact.js';
import { accountHome, currentInvocation, hintCommand, programWords, sshWords, type HintCommand } from './hints.js';
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
  /** What to run next, after work that leaves some for the user (not under --json or --quiet); build each with `pcc` or `ssh`. */
  next(commands: string[]): void;
  /** One command for a hint: pcc as it was started, each interpolated value one shell word (see hints.ts). */
  pcc: HintCommand;
  /** `ssh ALIAS` as it works from this shell, `-F` included where OpenSSH would not read pcc's config. */
  ssh(alias: string): string;
  /** Live per-host progress on stderr; silent under --json. */
  progress(): CliProgress;
  /** The last step the core reported (a note, or `host: step`), for saying where an interrupted command was. */
  lastStep(): string | undefined;
  /** Under --json, the one document written to stdout at the end. */
  emitJson(value: unknown): void;
  /** What the core needs: project, settings, state and progress. */
  core(options?: { dry?: boolean }): ProviderContext;
  /** Ends the live view and prints what waited for it. */
  finish(): Promise<void>;
}

/** `startsProject`: the command may make a new project in an empty folder (init, up, acquire). */
export function createContext(args: GlobalArgs, command: string, startsProject = false): CliContext {
  // Before anything is read or printed: no output of the command shows a secret.
  installRedaction();
  const project = openProject({ project: args.project });
  if (args.project !== undefined) checkProjectFolder(project, args.project, startsProject);
  const timeoutS = checkTimeoutFlag(args.timeout);
  const json = Boolean(args.json);
  const quiet = Boolean(args.quiet);
  let settings: Settings | undefined;
  let state: StateStore | undefined;
  let progress: CliProgress | undefined;
  let hint: HintCommand | undefined;
  let lastStep: string | undefined;
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
        if (args.verbose) traceScripts();
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
    // A hint for a project named with --project names it too, so it runs on the same project from this shell.
    pcc: (strings, ...values) => (hint ??= hintCommand(programWords(currentInvocation()), args.project))(strings, ...values),
    ssh: (alias) => sshWords(alias, project.home, accountHome()),
    progress: () => (progress ??= rememberingLastStep(createProgress(chooseMode({ json, quiet }), command), (step) => (lastStep = step))),
    lastStep: () => lastStep,
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

/** The same progress, also telling `remember` each step as it is reported. */
function rememberingLastStep(progress: CliProgress, remember: (step: string) => void): CliProgress {
  return {
    ...progress,
    host: (name, message, outcome) => {
      remember(`${name}: ${message}`);
      progress.host(name, message, outcome);
    },
    note: (message) => {
      remember(message);
      progress.note(message);
    },
  };
}

/** --timeout is whole seconds, as PCC_TIMEOUT_S is; a bad value is refused (exit 1, as any flag value) before anything runs. */
function checkTimeoutFlag(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  if (!Number.isInteger(seconds) || seconds < 1) throw new UserInputError('--timeout takes a whole number of seconds, 1 or more (e.g. --timeout 300)');
  return seconds;
}

/** --verbose: every script sent to a host, on stderr, with secrets redacted (as all output is: see installRedaction). */
function traceScripts(): void {
  setScriptTrace((host, script) => {
    const body = script.replace(/\n+$/, '');
    process.stderr.write(`--- ${host}: script sent\n${body}\n--- end of ${host}'s script\n`);
  });
}
