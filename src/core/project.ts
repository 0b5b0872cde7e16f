import { existsSync, linkSync, mkdirSync, readFileSync, statSync, writeFileSync, unlinkSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { PccError } from './errors.js';

/** Where pcc reads and writes: the project folder and the user's home. */
export interface Project {
  readonly root: string;
  readonly home: string;
  readonly configDir: string;
  readonly dockerDir: string;
  readonly playbooksDir: string;
  readonly cloudConfigDir: string;
  /** pcc's own files: state, keys, rendered Vagrantfiles, known_hosts. */
  readonly stateDir: string;
  readonly sshDir: string;
  /** The folder's name, tag- and hostname-safe: for people (tags, resource names), never to find resources. */
  readonly name: string;
  /**
   * A random id made at first use and kept in `.pcc/project-id`. Cloud tags
   * and local resource names carry it, and every lookup and sweep matches it,
   * so two folders that share a name are never one project.
   */
  readonly id: string;
}

/**
 * The project's folders that no host ever sees through the NFS export: pcc's
 * own files (state, keys, the hosts' disks) and the settings with their
 * secrets (config/.private). Every controller covers them with an empty,
 * read-only tmpfs in the tree it exports.
 */
export const UNEXPORTED_DIRS = ['.pcc', 'config'] as const;

/** Where every compute host (and each task on it) sees the project folder. */
export const PROJECT_MOUNT = '/project';

const ID_FILE = 'project-id';
/** 0600, as every other file in .pcc/ (the folder itself is 0700). */
const ID_FILE_MODE = 0o600;
/** 12 hex digits: enough that one person's projects never share one, short enough for interface names. */
const ID_PATTERN = /^[0-9a-f]{12}$/;

/** `~` means $HOME (not the passwd entry) so that tests can point pcc at another home. */
export function userHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME && env.HOME.length > 0 ? env.HOME : homedir();
}

export function expandHome(p: string, home: string = userHome()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/** pcc's own folder in the project: state, keys, disks. */
const STATE_DIR = '.pcc';

/** The project key pcc makes when PCC_SSH_KEY names none, below `.pcc/` (see core/user-key.ts). */
export const PROJECT_KEY_IN_STATE = path.join('ssh', 'id_ed25519');

/** Whether `file` is a project's own key (`<project>/.pcc/ssh/id_ed25519`). */
export function isProjectKey(file: string): boolean {
  return file.endsWith(path.join(STATE_DIR, PROJECT_KEY_IN_STATE));
}

/**
 * The one meaning of a key path (`--key`, PCC_SSH_KEY, a host record's key):
 * `~/` is the home, and a relative path is relative to the project, never to
 * wherever pcc happens to run.
 */
export function resolveKeyPath(key: string, project: Pick<Project, 'root' | 'home'>): string {
  return path.resolve(project.root, expandHome(key, project.home));
}

export function openProject(options: { project?: string; home?: string; cwd?: string } = {}): Project {
  const home = options.home ?? userHome();
  const root = path.resolve(options.cwd ?? process.cwd(), expandHome(options.project ?? '.', home));
  const name = projectName(root);
  const stateDir = path.join(root, STATE_DIR);
  let id: string | undefined;
  return {
    root,
    home,
    name,
    get id() {
      return (id ??= ensureProjectId(stateDir));
    },
    configDir: path.join(root, 'config'),
    dockerDir: path.join(root, 'docker'),
    playbooksDir: path.join(root, 'playbooks'),
    cloudConfigDir: path.join(root, 'cloud-config'),
    stateDir,
    sshDir: path.join(home, '.ssh'),
  };
}

/** Tag- and hostname-safe: lowercase letters, digits and dashes. */
export function projectName(root: string): string {
  const base = path.basename(root).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return base.length > 0 ? base.slice(0, 40) : 'pcc';
}

/** What makes a folder a pcc project: any of these in it. */
const PROJECT_MARKS = ['config', 'docker', 'playbooks', '.pcc'];

/**
 * An explicit `--project` must name a folder, and (unless the command starts a
 * project there) a pcc project: a typo would otherwise read as an empty
 * project whose hosts are all gone.
 */
export function checkProjectFolder(project: Project, flag: string, startsProject: boolean): void {
  if (!existsSync(project.root) || !statSync(project.root).isDirectory()) {
    throw new PccError(`--project ${flag}: no such folder (${project.root}); check the path`);
  }
  if (startsProject || PROJECT_MARKS.some((m) => existsSync(path.join(project.root, m)))) return;
  throw new PccError(
    `--project ${flag}: ${project.root} is not a pcc project (it has no ${PROJECT_MARKS.map((m) => `${m}/`).join(', ')}); check the path, or start one there with pcc init or pcc up`,
  );
}

export function isProjectId(text: string): boolean {
  return ID_PATTERN.test(text);
}

/** The id in `.pcc/project-id`, or undefined when the project has none yet. */
export function readProjectId(stateDir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(stateDir, ID_FILE), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!isProjectId(text)) {
    throw new PccError(`${path.join(stateDir, ID_FILE)}: not a project id (12 hex digits); restore it, or remove it and run pcc adopt to find the project's resources`);
  }
  return text;
}

/** Made at first use (sync: the id is read where the project is, long before any await). */
function ensureProjectId(stateDir: string): string {
  const existing = readProjectId(stateDir);
  if (existing) return existing;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // link() never replaces: of two first runs at once, one id wins and both use it.
  const file = path.join(stateDir, ID_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  // Web Crypto's global: node:crypto itself (a few ms to load) stays out of every command's start.
  writeFileSync(tmp, `${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString('hex')}\n`, { mode: ID_FILE_MODE });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readProjectId(stateDir)!;
}

/**
 * Sets the id, for `pcc adopt` after `.pcc/` was lost. Written atomically
 * (temp file and rename), like every file pcc owns.
 */
export function writeProjectId(stateDir: string, id: string): string {
  if (!isProjectId(id)) throw new PccError(`${id} is not a project id (12 hex digits, as pcc adopt lists them)`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, ID_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${id}\n`, { mode: ID_FILE_MODE });
  renameSync(tmp, file);
  return id;
}
