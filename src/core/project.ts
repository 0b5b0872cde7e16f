import { existsSync, statSync } from 'node:fs';
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
  /** A stable short name used for tags, bridge names and resource names. */
  readonly name: string;
}

/** `~` means $HOME (not the passwd entry) so that tests can point pcc at another home. */
export function userHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME && env.HOME.length > 0 ? env.HOME : homedir();
}

export function expandHome(p: string, home: string = userHome()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

export function openProject(options: { project?: string; home?: string; cwd?: string } = {}): Project {
  const home = options.home ?? userHome();
  const root = path.resolve(options.cwd ?? process.cwd(), expandHome(options.project ?? '.', home));
  const name = projectName(root);
  return {
    root,
    home,
    name,
    configDir: path.join(root, 'config'),
    dockerDir: path.join(root, 'docker'),
    playbooksDir: path.join(root, 'playbooks'),
    cloudConfigDir: path.join(root, 'cloud-config'),
    stateDir: path.join(root, '.pcc'),
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
