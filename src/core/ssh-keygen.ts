import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { PccError } from './errors.js';

/** OpenSSH's own key maker, for a project key and a local host's key alike: an ed25519 key without a passphrase. */
export function keygenArgv(file: string, comment: string): string[] {
  return ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file];
}

/** Where a key is made before it is written in place; a kill leaves one behind, and the next key removes it. */
const SCRATCH_PREFIX = '.keygen-';

/**
 * A new key pair as text, made by ssh-keygen in a private scratch folder
 * inside `dir` (the key's own folder, so its secret never passes through /tmp).
 * The caller holds the key's lock, so any scratch folder found is a killed
 * run's. Not ssh2's generateKeyPairSync: it drops a leading zero byte of an
 * ed25519 public key, so 1 key in 256 is one that ssh2 itself then refuses as
 * "Malformed OpenSSH private key" (mscdex/ssh2#1390, #1513; it failed a CI run).
 */
export async function makeKeyPair(dir: string, comment: string): Promise<{ privateKey: string; publicKey: string }> {
  let scratch: string;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const entry of await readdir(dir)) {
      if (entry.startsWith(SCRATCH_PREFIX)) await rm(path.join(dir, entry), { recursive: true, force: true });
    }
    scratch = await mkdtemp(path.join(dir, SCRATCH_PREFIX));
  } catch (err) {
    throw new PccError(`cannot make an SSH key in ${dir}: ${(err as Error).message}`);
  }
  try {
    const file = path.join(scratch, 'key');
    const [cmd, ...args] = keygenArgv(file, comment);
    const result = await execa(cmd!, args, { reject: false, stdin: 'ignore' });
    if (result.failed) {
      if (result.code === 'ENOENT') {
        throw new PccError("cannot make an SSH key: ssh-keygen is not on PATH; install OpenSSH's client (apt-get install openssh-client), or set PCC_SSH_KEY to a key you have");
      }
      const why = result.stderr.trim().split('\n')[0] || (result.shortMessage ?? '').split('\n')[0];
      throw new PccError(`cannot make an SSH key in ${dir}: ssh-keygen failed: ${why}`);
    }
    return { privateKey: await readFile(file, 'utf8'), publicKey: await readFile(`${file}.pub`, 'utf8') };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
