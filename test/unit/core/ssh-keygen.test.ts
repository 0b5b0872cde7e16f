import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, test } from 'vitest';
import { keygenArgv, makeKeyPair } from '../../../src/core/ssh-keygen.js';
import { ensureUserKey, projectKeyPath } from '../../../src/core/user-key.js';
import { makeTestProject } from '../../fixtures/project.js';

const FIXTURE = path.join(import.meta.dirname, '../../fixtures/keys/ed25519-leading-zero');
const dir = mkdtempSync(path.join(tmpdir(), 'pcc-keygen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ssh2 reads the key and signs with it, as a connection's publickey auth does. */
function usable(privateText: string, publicText: string): string {
  const priv = ssh2.utils.parseKey(privateText);
  const pub = ssh2.utils.parseKey(publicText);
  if (priv instanceof Error) return `private: ${priv.message}`;
  if (pub instanceof Error) return `public: ${pub.message}`;
  const data = Buffer.from('pcc');
  const signature = priv.sign(data);
  if (signature instanceof Error) return `sign: ${signature.message}`;
  return pub.verify(data, signature) === true ? 'ok' : 'signature does not verify';
}

describe('project keys come from ssh-keygen', () => {
  test('the argv', () => {
    expect(keygenArgv('/p/.pcc/ssh/id_ed25519', 'pcc@demo')).toEqual(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'pcc@demo', '-f', '/p/.pcc/ssh/id_ed25519']);
  });

  test('ssh2 reads and signs with an ssh-keygen key whose public key starts with a zero byte (the 1 in 256 ssh2 itself cannot make)', () => {
    const publicText = readFileSync(`${FIXTURE}.pub`, 'utf8');
    const blob = Buffer.from(publicText.split(' ')[1]!, 'base64');
    expect(blob.subarray(-32)[0]).toBe(0);
    expect(usable(readFileSync(FIXTURE, 'utf8'), publicText)).toBe('ok');
  });

  test('makes a usable pair, leaves no scratch folder, and removes one a kill left', async () => {
    const sshDir = path.join(dir, 'ssh');
    const first = await makeKeyPair(sshDir, 'pcc@demo');
    expect(usable(first.privateKey, first.publicKey)).toBe('ok');
    expect(first.publicKey).toMatch(/^ssh-ed25519 \S+ pcc@demo\n$/);
    expect(statSync(sshDir).mode & 0o777).toBe(0o700);
    mkdirSync(path.join(sshDir, '.keygen-left'));
    writeFileSync(path.join(sshDir, '.keygen-left', 'key'), 'half a key');
    const second = await makeKeyPair(sshDir, 'pcc@demo');
    expect(second.privateKey).not.toBe(first.privateKey);
    expect(readdirSync(sshDir)).toEqual([]);
  });

  test('two first runs at once end with one pair: each returns it, and the key on disk is the one its .pub names', async () => {
    const t = makeTestProject({ prefix: 'pcc-userkey-' });
    try {
      const ctx = t.ctx();
      const [a, b] = await Promise.all([ensureUserKey(ctx.project, ctx.settings), ensureUserKey(ctx.project, ctx.settings)]);
      expect(a.publicKey).toBe(b.publicKey);
      expect([a.generated, b.generated].sort()).toEqual([false, true]);
      const own = projectKeyPath(ctx.project);
      expect(usable(readFileSync(own, 'utf8'), readFileSync(`${own}.pub`, 'utf8'))).toBe('ok');
      expect(readFileSync(`${own}.pub`, 'utf8').trim()).toBe(a.publicKey);
      expect(readdirSync(path.dirname(own)).sort()).toEqual(['id_ed25519', 'id_ed25519.pub']);
    } finally {
      t.cleanup();
    }
  });
});
