import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../../core/errors.js';
import { keygenArgv } from '../../core/ssh-keygen.js';
import { run } from './exec.js';

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
