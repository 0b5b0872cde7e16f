import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection, UnreachableError } from '../../src/remote/connection.js';
import { startSshdHosts, type SshdFleet } from '../fixtures/sshd.js';

let fleet: SshdFleet;
let work: string;

beforeAll(async () => {
  fleet = await startSshdHosts(2, { prefix: 's' });
  work = mkdtempSync(path.join(tmpdir(), 'pcc-shell-'));
});
afterAll(async () => {
  await fleet.stop();
  rmSync(work, { recursive: true, force: true });
});

const open = (i: number) => {
  const h = fleet.hosts[i]!;
  return Connection.open({ name: h.name, address: h.address, port: h.port, user: 'root', key: fleet.key }, { home: work, timeoutMs: 5000, retries: 0 });
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
