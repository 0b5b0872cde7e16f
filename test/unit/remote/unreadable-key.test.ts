import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { UserInputError } from '../../../src/core/errors.js';
import { Connection } from '../../../src/remote/connection.js';

const FIXTURE = path.join(import.meta.dirname, '../../fixtures/keys/ed25519-ssh2-malformed');

describe('a key ssh2 cannot read', () => {
  test('is one line naming the key and the fix, at once: not retried as a connection failure', async () => {
    const started = Date.now();
    // Port 9 on loopback: nothing need listen, the key is refused before any handshake.
    const err = await Connection.open({ name: 'h1', address: '127.0.0.1', port: 9, user: 'root', key: FIXTURE }, { home: tmpdir(), timeoutMs: 5_000, retries: 3 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as Error).message).toBe(
      `host h1: cannot use the key ${FIXTURE} (Malformed OpenSSH private key); point the host at an OpenSSH private key (pcc hosts add --key, or PCC_SSH_KEY in config/)`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('the project key an older pcc made gets the way out', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pcc-oldkey-'));
    mkdirSync(path.join(root, '.pcc/ssh'), { recursive: true });
    const key = path.join(root, '.pcc/ssh/id_ed25519');
    copyFileSync(FIXTURE, key);
    const err = await Connection.open({ name: 'h1', address: '127.0.0.1', port: 9, user: 'root', key }, { home: tmpdir(), timeoutMs: 5_000, retries: 0 }).catch((e: unknown) => e);
    rmSync(root, { recursive: true, force: true });
    expect((err as Error).message).toMatch(/an older pcc made this project key .*: remove \.pcc\/ssh\/id_ed25519 and \.pcc\/ssh\/id_ed25519\.pub, then pcc destroy and pcc acquire the hosts again$/);
  });
});
