import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientChannel } from 'ssh2';
import { UnreachableError } from '../../../src/core/errors.js';
import { Connection } from '../../../src/remote/connection.js';
import { channelPipe, ShellSession } from '../../../src/remote/shell-session.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

let fleet: SshdFleet;
let work: string;

beforeAll(async () => {
  fleet = await startSshdHosts(4, { prefix: 's' });
  work = mkdtempSync(path.join(tmpdir(), 'pcc-shell-'));
});
afterAll(async () => {
  await fleet.stop();
  rmSync(work, { recursive: true, force: true });
});

const open = (i: number, options: { keepaliveIntervalMs?: number } = {}) => {
  const h = fleet.hosts[i]!;
  return Connection.open({ name: h.name, address: h.address, port: h.port, user: 'root', key: fleet.key }, { home: work, timeoutMs: 5000, retries: 0, ...options });
};

describe('one shell session carries every round trip of a run', () => {
  it('keeps scripts apart: exit codes, stderr, an exit, and output that looks like a marker', async () => {
    const conn = await open(0);
    try {
      const shell = await conn.shell();
      expect(await shell.run('echo one; echo err >&2; exit 3')).toEqual({ code: 3, stdout: 'one\n', stderr: 'err\n' });
      expect(await shell.run("printf '%s' '@@pcc-sh-000000000000 end 0'; cat")).toEqual({ code: 0, stdout: '@@pcc-sh-000000000000 end 0', stderr: '' });
      const [a, b] = await Promise.all([shell.run('echo $$'), shell.run('echo $$')]);
      // Both ran in the one login shell, one after the other.
      expect(a!.stdout).toBe(b!.stdout);
      shell.close();
    } finally {
      conn.close();
    }
  });

  it('reports a host that dies mid-script as unreachable', async () => {
    const conn = await open(1);
    try {
      const shell = await conn.shell();
      const running = shell.run('sleep 30');
      setTimeout(() => fleet.kill('s2'), 200);
      await expect(running).rejects.toBeInstanceOf(UnreachableError);
    } finally {
      conn.close();
    }
  });
});

describe('connecting', () => {
  it('a host that accepts the TCP connection and hangs up at once fails at once, not after the handshake timeout', async () => {
    // What sshd does past MaxStartups: accept, then close before its banner.
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const started = Date.now();
    try {
      const opening = Connection.open({ name: 'gone', address: '127.0.0.1', port, user: 'root', key: fleet.key }, { home: work, timeoutMs: 20_000, retries: 0 });
      // Ours when the hang-up came before ssh2 took the socket, ssh2's when after: both at once.
      await expect(opening).rejects.toThrow(/^gone: cannot connect to root@127\.0\.0\.1:\d+: (the connection closed before the SSH handshake|Connection lost before handshake)$/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      server.close();
    }
  });
});

describe('no host can hang a run', () => {
  it('a round trip past its deadline rejects as unreachable naming its step, hangs up, and refuses later scripts', async () => {
    // A channel whose shell never answers, as behind a ForceCommand that sleeps.
    const channel = Object.assign(new EventEmitter(), {
      stderr: Object.assign(new EventEmitter(), { setEncoding: () => undefined }),
      setEncoding: () => undefined,
      write: () => true,
      end: () => undefined,
    });
    let hungUp = 0;
    const lost = (reason: string) => new UnreachableError('quiet', `quiet: ${reason}`);
    const shell = new ShellSession(channelPipe(channel as unknown as ClientChannel), lost, 'quiet', () => hungUp++);
    const started = Date.now();
    const first = shell.run('true', { ms: 200, step: 'while gathering facts' });
    const queued = shell.run('true', { ms: 200, step: 'while gathering facts' });
    await expect(first).rejects.toThrow(new UnreachableError('quiet', 'quiet: timed out after 0.2 s while gathering facts'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(hungUp).toBe(1);
    // The session is gone: the script queued behind it is refused at once, with the same reason.
    await expect(queued).rejects.toThrow('quiet: timed out after 0.2 s while gathering facts');
    expect(hungUp).toBe(1);
  });

  it('a step named from the output so far: the deadline sees what came back before it passed', async () => {
    const conn = await open(2);
    try {
      const shell = await conn.shell();
      const running = shell.run("echo first-done; sleep 30", { ms: 1000, step: (soFar) => `after ${soFar.trim() || 'nothing'}` });
      await expect(running).rejects.toThrow('s3: timed out after 1 s after first-done');
      // The connection is dropped with the session: nothing more goes out on it.
      await expect(conn.exec('true')).rejects.toThrow(new UnreachableError('s3', 's3: timed out after 1 s after first-done'));
    } finally {
      conn.close();
    }
  });

  it('a host that stops answering (its sshd frozen) is unreachable by the SSH keepalives, within their count', async () => {
    const conn = await open(3, { keepaliveIntervalMs: 300 });
    try {
      const shell = await conn.shell();
      expect((await shell.run('echo up')).stdout).toBe('up\n');
      fleet.freeze('s4');
      const started = Date.now();
      // No deadline: only the keepalives can end this round trip.
      const err = await shell.run('true').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnreachableError);
      expect((err as Error).message).toBe('s4: the host stopped answering (3 SSH keepalives 0.3 s apart went unanswered)');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      conn.close();
    }
  });
});
