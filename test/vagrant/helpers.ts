import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openProject } from '../../src/core/project.js';
import type { ProviderContext } from '../../src/providers/types.js';
import { loadSettings } from '../../src/settings/load.js';
import { StateStore } from '../../src/state/store.js';

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'vagrant');

export interface TestProject {
  root: string;
  home: string;
  keyPath: string;
  ctx: ProviderContext;
  dryCtx: ProviderContext;
  notes: string[];
  warnings: string[];
  hostLines: [string, string][];
  cleanup(): void;
}

/**
 * A throwaway project with its own HOME and a real ed25519 key pair.
 * `vagrantEnv` lines go to config/vagrant.env.
 */
export function makeProject(options: { vagrantEnv?: string; homeName?: string } = {}): TestProject {
  const base = mkdtempSync(path.join(tmpdir(), 'pcc-vagrant-'));
  const root = path.join(base, 'proj');
  const home = path.join(base, options.homeName ?? 'home');
  mkdirSync(path.join(home, '.ssh'), { recursive: true });
  mkdirSync(path.join(root, 'config'), { recursive: true });
  const keyPath = path.join(home, '.ssh', 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pcc-test', '-f', keyPath]);
  if (options.vagrantEnv) writeFileSync(path.join(root, 'config', 'vagrant.env'), options.vagrantEnv);

  const project = openProject({ project: root, home });
  const notes: string[] = [];
  const warnings: string[] = [];
  const hostLines: [string, string][] = [];
  const ctx: ProviderContext = {
    project,
    settings: loadSettings(project, {}),
    state: new StateStore(project),
    progress: {
      host: (name, message) => hostLines.push([name, message]),
      note: (m) => notes.push(m),
      warn: (m) => warnings.push(m),
    },
    dry: false,
  };
  return {
    root,
    home,
    keyPath,
    ctx,
    dryCtx: { ...ctx, dry: true },
    notes,
    warnings,
    hostLines,
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

/**
 * A bin folder holding the chosen stand-ins and `node` (the vagrant stand-in
 * is a node script), to be the whole PATH: on merged-/usr Debian every system
 * folder would also bring the real vagrant.
 */
export function standInPath(binDir: string, tools: ('vagrant' | 'VBoxManage')[]): string {
  mkdirSync(binDir, { recursive: true });
  for (const t of tools) symlinkSync(path.join(fixturesDir, 'stand-in', t), path.join(binDir, t));
  symlinkSync(process.execPath, path.join(binDir, 'node'));
  return binDir;
}

/** Drives the vagrant stand-in: which recording answers which command, and what it was asked. */
export class StandIn {
  readonly log: string;
  readonly scenarioFile: string;

  constructor(dir: string, keyPath: string) {
    mkdirSync(dir, { recursive: true });
    this.log = path.join(dir, 'calls.jsonl');
    this.scenarioFile = path.join(dir, 'scenario.json');
    writeFileSync(this.log, '');
    process.env.FAKE_VAGRANT_LOG = this.log;
    process.env.FAKE_VAGRANT_SCENARIO = this.scenarioFile;
    process.env.FAKE_VAGRANT_SSH_KEY = keyPath;
    this.answer({});
  }

  answer(scenario: Record<string, string>): void {
    writeFileSync(this.scenarioFile, JSON.stringify(scenario));
  }

  /** Every call so far, and forget them. */
  take(): { argv: string[]; VAGRANT_CWD?: string; VAGRANT_CHECKPOINT_DISABLE?: string }[] {
    const lines = readFileSync(this.log, 'utf8').split('\n').filter((l) => l.length > 0);
    writeFileSync(this.log, '');
    return lines.map((l) => JSON.parse(l));
  }
}

/** Real `vagrant validate --ignore-provider` on a folder; returns vagrant's output on failure. */
export function vagrantValidate(dir: string, vagrantHome: string, extraPath?: string): { ok: boolean; output: string } {
  try {
    const output = execFileSync('vagrant', ['validate', '--ignore-provider'], {
      cwd: dir,
      env: {
        ...process.env,
        PATH: extraPath ? `${extraPath}${path.delimiter}${process.env.PATH}` : process.env.PATH,
        VAGRANT_HOME: vagrantHome,
        VAGRANT_CHECKPOINT_DISABLE: '1',
        VAGRANT_CWD: dir,
      },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, output };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
