import { checkProjectFolder, openProject, type Project } from '../core/project.js';
import type { Progress } from '../core/progress.js';
import type { ProviderContext } from '../providers/types.js';
import { loadSettings, type Settings } from '../settings/load.js';
import { StateStore } from '../state/store.js';

export interface GlobalArgs {
  project?: string;
  json?: boolean;
}

/** What every command gets: the project, its settings and state, and output. */
export interface CliContext {
  readonly project: Project;
  readonly json: boolean;
  settings(): Settings;
  state(): StateStore;
  out(line: string): void;
  err(line: string): void;
  /** Live per-host progress on stderr; silent under --json. */
  progress(): Progress;
  /** Under --json, the one document written to stdout at the end. */
  emitJson(value: unknown): void;
  /** What the core needs: project, settings, state and progress. */
  core(options?: { dry?: boolean }): ProviderContext;
}

/** `startsProject`: the command may make a new project in an empty folder (init, up, acquire). */
export function createContext(args: GlobalArgs, startsProject = false): CliContext {
  const project = openProject({ project: args.project });
  if (args.project !== undefined) checkProjectFolder(project, args.project, startsProject);
  const json = Boolean(args.json);
  let settings: Settings | undefined;
  let state: StateStore | undefined;
  let progress: Progress | undefined;
  return {
    project,
    json,
    settings: () => (settings ??= loadSettings(project)),
    state: () => (state ??= new StateStore(project, (m) => process.stderr.write(`${m}\n`))),
    out: (line) => {
      if (!json) process.stdout.write(`${line}\n`);
    },
    err: (line) => process.stderr.write(`${line}\n`),
    progress: () => (progress ??= json ? quietProgress() : lineProgress()),
    emitJson: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    core(options = {}) {
      return { project, settings: this.settings(), state: this.state(), progress: this.progress(), dry: Boolean(options.dry) };
    },
  };
}

function quietProgress(): Progress {
  return {
    host() {},
    note() {},
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  };
}

/** One line per event: works the same on a TTY, in CI logs and piped to a file. */
function lineProgress(): Progress {
  return {
    host: (name, message) => process.stderr.write(`${name} | ${message}\n`),
    note: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  };
}
