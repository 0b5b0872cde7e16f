import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../settings/load.js';
import { PccError } from './errors.js';
import { writeOwnedFile } from './files.js';
import { withFileLock } from './lock.js';
import { makeKeyPair } from './ssh-keygen.js';
import { expandHome, PROJECT_KEY_IN_STATE, type Project } from './project.js';

/** The key every host of the project authorizes, and pcc logs in with. */
export interface UserKey {
  /** Private key path as recorded on each host (`~/` kept as the user wrote it). */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment`, one line. */
  publicKey: string;
  /** pcc made it just now. */
  generated: boolean;
}

const ACCEPTED = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/;

/**
 * PCC_SSH_KEY when it and its `.pub` exist. A PCC_SSH_KEY the user set that is
 * missing is an error; with the default and no such key, pcc makes a project
 * key in `.pcc/ssh/` rather than writing into ~/.ssh, which is the user's.
 */
export async function ensureUserKey(project: Project, settings: Settings): Promise<UserKey> {
  const configured = expandHome(settings.values.PCC_SSH_KEY, project.home);
  if (existsSync(configured) && existsSync(`${configured}.pub`)) return readKey(settings.values.PCC_SSH_KEY, configured, false);
  const origin = settings.origin.PCC_SSH_KEY;
  if (origin !== undefined) {
    throw new PccError(
      `${origin}: PCC_SSH_KEY=${settings.values.PCC_SSH_KEY}: ${configured} or its .pub is missing; create it with ssh-keygen -t ed25519 -f ${configured}, or remove the setting to use a project key`,
    );
  }
  const own = projectKeyPath(project);
  if (existsSync(own) && existsSync(`${own}.pub`)) return readKey(own, own, false);
  // Two first runs at once (acquire local beside acquire ec2) end with one pair, never one's key beside the other's .pub.
  return withFileLock({ lockfile: `${own}.lock`, what: path.relative(project.root, own), waitSeconds: 60 }, async () => {
    if (existsSync(own) && existsSync(`${own}.pub`)) return readKey(own, own, false);
    const pair = await makeKeyPair(path.dirname(own), `pcc@${project.name}`);
    await writeOwnedFile(own, pair.privateKey, { mode: 0o600 });
    await writeOwnedFile(`${own}.pub`, `${pair.publicKey.trim()}\n`, { mode: 0o644 });
    return readKey(own, own, true);
  });
}

export function projectKeyPath(project: Project): string {
  return path.join(project.stateDir, PROJECT_KEY_IN_STATE);
}

function readKey(recorded: string, file: string, generated: boolean): UserKey {
  const publicKey = readFileSync(`${file}.pub`, 'utf8').trim().split('\n')[0]!.trim();
  const [type, blob] = publicKey.split(/\s+/);
  if (!type || !blob || !ACCEPTED.test(type)) {
    throw new PccError(`${file}.pub is not an OpenSSH public key (ed25519, RSA or ECDSA); point PCC_SSH_KEY at another key`);
  }
  return { privateKey: recorded, publicKey, generated };
}

/** Short and stable, from the key's blob: names the EC2 key pair, so a new key gets a new pair. */
export function keyFingerprint(publicKey: string): string {
  return createHash('sha256').update(publicKey.split(/\s+/)[1] ?? publicKey).digest('hex').slice(0, 8);
}
