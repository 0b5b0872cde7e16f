import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../../core/errors.js';
import { expandHome, type Project } from '../../core/project.js';
import type { Settings } from '../../settings/load.js';
import { run } from './exec.js';

export function keygenArgv(file: string, comment: string): string[] {
  return ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file];
}

/** `ssh-ed25519 AAAA...` without the comment: the form known_hosts entries use. */
export function publicKeyLine(pubFileText: string): string {
  const [type, blob] = pubFileText.trim().split(/\s+/);
  if (!type || !blob) throw new PccError(`local: unexpected public key format: ${pubFileText.slice(0, 40)}`);
  return `${type} ${blob}`;
}

/** A fresh host key in the host's root before its first boot, so pcc knows it without asking the host. */
export async function generateHostKey(root: string, hostName: string): Promise<string> {
  const file = path.join(root, 'etc/ssh/ssh_host_ed25519_key');
  if (!existsSync(file)) await run(keygenArgv(file, `root@${hostName}`));
  return publicKeyLine(await readFile(`${file}.pub`, 'utf8'));
}

export interface UserKey {
  /** Private key path, recorded as the host's `key`. */
  key: string;
  publicKey: string;
}

/**
 * The key hosts authorize for root: PCC_SSH_KEY when its `.pub` exists. If
 * the user set PCC_SSH_KEY and it is missing, that is an error; if they left
 * the default and have no such key, pcc makes a project key in `.pcc/ssh/`
 * rather than writing into ~/.ssh (the host records carry the path either way).
 */
export async function userKey(project: Project, settings: Settings): Promise<UserKey> {
  const configured = expandHome(settings.values.PCC_SSH_KEY, project.home);
  if (existsSync(`${configured}.pub`)) {
    return { key: configured, publicKey: (await readFile(`${configured}.pub`, 'utf8')).trim() };
  }
  const origin = settings.origin.PCC_SSH_KEY;
  if (origin !== undefined) {
    throw new PccError(
      `${origin}: PCC_SSH_KEY=${settings.values.PCC_SSH_KEY}: ${configured}.pub not found; create it with ssh-keygen -t ed25519 -f ${configured}, or remove the setting to use a project key`,
    );
  }
  const projectKey = path.join(project.stateDir, 'ssh', 'id_ed25519');
  if (!existsSync(projectKey)) {
    await mkdir(path.dirname(projectKey), { recursive: true, mode: 0o700 });
    await run(keygenArgv(projectKey, `pcc@${project.name}`));
  }
  return { key: projectKey, publicKey: (await readFile(`${projectKey}.pub`, 'utf8')).trim() };
}
