import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importInventory } from '../../../src/fleet/import-inventory.js';
import { addStaticHost } from '../../../src/fleet/static-hosts.js';
import { status } from '../../../src/fleet/status.js';
import { makeTestProject, type TestProject } from '../../fixtures/project.js';

let t: TestProject | undefined;
afterEach(() => t?.cleanup());

/** A static host as setup and autostop leave it: the overlay's address and key, an autostop. */
async function setUpHost(): Promise<TestProject> {
  t = makeTestProject({ prefix: 'pcc-static-', key: true });
  await addStaticHost(t.ctx(), { name: 'web1', target: 'root@127.0.0.1:2299', key: t.keyPath, groups: ['web'] });
  await t.state.update((s) => {
    s.hosts.web1!.overlayAddress = '10.210.0.7';
    s.hosts.web1!.overlayPublicKey = 'pub-web1';
    s.hosts.web1!.autostop = { idleMinutes: 30, down: false };
  });
  return t;
}

describe('static hosts: add and import', () => {
  it('adding the same host again changes nothing, and keeps what setup learned', async () => {
    const p = await setUpHost();
    const before = (await p.state.read()).hosts.web1;
    await addStaticHost(p.ctx(), { name: 'web1', target: 'root@127.0.0.1:2299', key: p.keyPath, groups: ['web'] });
    expect((await p.state.read()).hosts.web1).toEqual(before);
  });

  it('adding a taken name with another target, key or groups is refused, naming the host and the way out', async () => {
    const p = await setUpHost();
    const before = (await p.state.read()).hosts.web1;
    await expect(addStaticHost(p.ctx(), { name: 'web1', target: 'root@127.0.0.1:2299', groups: [] })).rejects.toThrow(
      `host 'web1' is already there (root@127.0.0.1:2299, groups static,web, key ${p.keyPath}); remove it first with pcc hosts rm web1, then add it again`,
    );
    await expect(addStaticHost(p.ctx(), { name: 'web1', target: 'admin@127.0.0.1:2299', key: p.keyPath, groups: ['web'] })).rejects.toThrow(/already there/);
    expect((await p.state.read()).hosts.web1).toEqual(before);
  });

  it('item 6: an import over a different host of the same name is refused as hosts add is (nothing written: no variable file); the same host again keeps the overlay address, key and autostop', async () => {
    const p = await setUpHost();
    const before = (await p.state.read()).hosts.web1;
    const inventory = path.join(p.base, 'inventory.ini');
    writeFileSync(inventory, '[web]\nweb1 ansible_host=127.0.0.2 ansible_user=admin ansible_port=22 tier=front\n');
    await expect(importInventory(p.ctx(), inventory)).rejects.toThrow(
      `host 'web1' is already there as another host (root@127.0.0.1:2299, groups static,web, key ${p.keyPath}; the inventory has admin@127.0.0.2:22, groups static,web); remove it first with pcc hosts rm web1, then import again`,
    );
    expect((await p.state.read()).hosts.web1).toEqual(before);
    expect(existsSync(path.join(p.root, 'config/hosts/web1.env'))).toBe(false);

    // The same host (address, port, user, key, groups) imported again: its variables are written, and setup's fields stay.
    writeFileSync(inventory, `[web]\nweb1 ansible_host=127.0.0.1 ansible_user=root ansible_port=2299 ansible_ssh_private_key_file=${p.keyPath} tier=front\n`);
    await importInventory(p.ctx(), inventory);
    expect((await p.state.read()).hosts.web1).toEqual(before);
    expect(readFileSync(path.join(p.root, 'config/hosts/web1.env'), 'utf8')).toContain('tier=front');
  });
});

describe('pcc status of static hosts', () => {
  it('lists them by name, as pcc hosts does, whatever order they were added in', async () => {
    t = makeTestProject({ prefix: 'pcc-static-', key: true });
    for (const name of ['web10', 'db', 'web2']) await addStaticHost(t.ctx(), { name, target: 'root@127.0.0.1:2299', groups: [] });
    expect((await status(t.ctx())).map((r) => r.name)).toEqual(['db', 'web2', 'web10']);
  });
});
