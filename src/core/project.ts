import { homedir } from 'node:os';
import path from 'node:path';

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
