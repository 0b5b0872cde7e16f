import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PccError } from '../../core/errors.js';
import { writeOwnedFile } from '../../core/files.js';
import { expandHome, type Project } from '../../core/project.js';
import { sha256 } from './tags.js';

export interface LocalKey {
  /** Private key path as recorded on hosts (`~/`-relative when under home). */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment`, one line. */
  publicKey: string;
  /** Short, stable id of the public key, for the key pair's name. */
  fingerprint: string;
  /** True when pcc just made the key. */
  generated: boolean;
}

/** Where pcc keeps a key it generated, when PCC_SSH_KEY does not exist. */
export function generatedKeyPath(project: Project): string {
  return path.join(project.stateDir, 'id_ed25519');
}

/**
 * The key that will log in to EC2 hosts: PCC_SSH_KEY (+ `.pub`) if it exists.
 * Otherwise pcc makes its own ed25519 key in the project's `.pcc/` rather than
 * writing into ~/.ssh, which belongs to the user; every host of the project
 * records which key it takes.
 */
export async function ensureLocalKey(project: Project, configured: string): Promise<LocalKey> {
  const wanted = expandHome(configured, project.home);
  if (existsSync(wanted)) return readKey(configured, wanted, false);
  const own = generatedKeyPath(project);
  if (existsSync(own)) return readKey(own, own, false);
  // ssh2 is CommonJS: under plain Node its named exports are only on the default export.
  const ssh2 = (await import('ssh2')).default;
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: `pcc-${project.name}` });
  await writeOwnedFile(own, pair.private, { mode: 0o600 });
  await writeOwnedFile(`${own}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
  return readKey(own, own, true);
}

function readKey(recorded: string, file: string, generated: boolean): LocalKey {
  const pubFile = `${file}.pub`;
  if (!existsSync(pubFile)) {
    throw new PccError(`${pubFile} is missing; create it with: ssh-keygen -y -f ${file} > ${pubFile}`);
  }
  const publicKey = readFileSync(pubFile, 'utf8').trim().split('\n')[0]!.trim();
  const [type, blob] = publicKey.split(/\s+/);
  if (!type || !blob || !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/.test(type)) {
    throw new PccError(`${pubFile} is not an OpenSSH public key EC2 accepts (ed25519, RSA or ECDSA); point PCC_SSH_KEY at another key`);
  }
  return { privateKey: recorded, publicKey, fingerprint: sha256(blob).slice(0, 8), generated };
}
