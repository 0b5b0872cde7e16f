import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localProvider } from '../../../src/providers/local/index.js';
import { startLocalHosts, type LocalHosts } from '../../fixtures/local-hosts.js';
import { ssh, writeKnownHosts } from '../../fixtures/local-machine.js';

/** The controller `init` as an nspawn host, booted through the fixture later tests use. */
describe('local controller (initController) on real nspawn hosts', () => {
  let lh: LocalHosts;
  let knownHosts: string;

  beforeAll(async () => {
    lh = await startLocalHosts({ count: 1, controller: true });
    knownHosts = path.join(lh.home, 'known_hosts');
    writeKnownHosts(knownHosts, [lh.controller!, ...lh.hosts]);
  }, 600_000);

  afterAll(async () => {
    await lh?.stop();
  });

  it('records init with the controller groups, next to a compute host', () => {
    expect(lh.controller).toMatchObject({ name: 'init', provider: 'local', groups: ['controller'], providerId: 'init', status: 'running' });
    // Where setup (src/fleet/cluster-plan.ts) looks for the export and the registry storage.
    expect(lh.controller!).toMatchObject({ exportPath: '/project-export', registryStorage: '/var/lib/docker-registry' });
    expect(lh.hosts.map((h) => [h.name, h.groups])).toEqual([['local1', ['local', 'cpu']]]);
    expect(ssh(lh.controller!, 'hostname', knownHosts)).toBe('init');
    expect(ssh(lh.hosts[0]!, `ping -c1 -W2 ${lh.controller!.address} >/dev/null && echo ok`, knownHosts)).toBe('ok');
  });

  it('sees the project at /project-export, without pcc\'s own .pcc folder', () => {
    writeFileSync(path.join(lh.projectDir, 'shared.txt'), 'from the user\n');
    expect(ssh(lh.controller!, 'cat /project-export/shared.txt', knownHosts)).toBe('from the user');
    expect(existsSync(path.join(lh.projectDir, '.pcc', 'state.json'))).toBe(true);
    expect(ssh(lh.controller!, 'ls -A /project-export/.pcc | wc -l', knownHosts)).toBe('0');
  });

  it('keeps registry storage on this machine, owned by docker-registry, across a destroyed controller', async () => {
    expect(ssh(lh.controller!, 'stat -c %U /var/lib/docker-registry', knownHosts)).toBe('docker-registry');
    ssh(lh.controller!, 'echo blob > /var/lib/docker-registry/marker', knownHosts);
    const storage = path.join(lh.projectDir, '.pcc', 'registry');
    expect(readFileSync(path.join(storage, 'marker'), 'utf8')).toBe('blob\n');
    const owner = statSync(storage).uid;

    await localProvider.destroy(lh.ctx);
    expect(readFileSync(path.join(storage, 'marker'), 'utf8')).toBe('blob\n');

    const again = await localProvider.initController(lh.ctx);
    writeKnownHosts(knownHosts, [again]);
    expect(ssh(again, 'cat /var/lib/docker-registry/marker', knownHosts)).toBe('blob');
    expect(statSync(storage).uid).toBe(owner);
  });
});
