import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocal } from '../../../src/providers/local/bookkeeping.js';
import { localProvider } from '../../../src/providers/local/index.js';
import { startLocalHosts, type LocalHosts } from '../../fixtures/local-hosts.js';
import { ssh, writeKnownHosts } from '../../fixtures/local-machine.js';
import { acquireOn } from '../../../src/fleet/lifecycle.js';
/** The reconcile's acquire on one provider, as the CLI runs it. */
const acquireHosts = async (...args: Parameters<typeof acquireOn>) => (await acquireOn(...args)).hosts;


/**
 * What a kill while a host's network was being made leaves behind (host0 down
 * in a namespace that exists), on a real nspawn host: the next run repairs it
 * and says so, instead of taking it for done and waiting for a host that
 * cannot answer.
 */
describe('local provider recovery from a half-made network (real nspawn host)', () => {
  let lh: LocalHosts;
  const lines: string[] = [];

  beforeAll(async () => {
    lh = await startLocalHosts({ count: 1, progress: { host: (n, m) => lines.push(`${n} ${m}`), note() {}, warn() {} } });
  }, 600_000);
  afterAll(async () => {
    await lh?.stop();
  });

  it('a namespace whose host0 is down after a kill is repaired by the next acquire, with a line saying so', { timeout: 300_000 }, async () => {
    const host = lh.hosts[0]!;
    const netns = readLocal(await lh.ctx.state.read())!.machines[host.name]!.netns;
    // The state a kill between `ip link add` and `ip link set host0 up` leaves, after the first run failed its boot.
    execFileSync('ip', ['-n', netns, 'link', 'set', 'host0', 'down']);
    await lh.ctx.state.update((s) => {
      s.hosts[host.name]!.status = 'failed';
    });
    lines.length = 0;

    const again = await acquireHosts(localProvider, { type: 'cpu', count: 1, wait: true }, lh.ctx);
    expect(lines).toContain(`${host.name} repaired its network namespace ${netns} (host0 was down)`);
    expect(again.map((h) => [h.name, h.status])).toEqual([[host.name, 'running']]);
    const knownHosts = path.join(lh.home, 'known_hosts');
    writeKnownHosts(knownHosts, again);
    expect(ssh(again[0]!, 'hostname', knownHosts)).toBe(host.name);
  });
});
