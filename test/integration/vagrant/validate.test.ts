import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vagrantProvider } from '../../../src/providers/vagrant/index.js';
import type { Machine } from '../../../src/providers/vagrant/machines.js';
import { makeProject, vagrantValidate, type TestProject } from '../../fixtures/vagrant-project.js';
import { acquireOn } from '../../../src/fleet/lifecycle.js';
import { ignitionReport } from '../../fixtures/ignition-validate.js';

/**
 * Every Vagrantfile shape pcc writes goes through the real
 * `vagrant validate --ignore-provider` (Debian's vagrant; no VirtualBox).
 * One validate call costs about a second (five for the first in a fresh
 * VAGRANT_HOME), so there are four.
 *
 * The controller's NFS folders make vagrant ask the host whether it can serve
 * NFS (`modinfo nfsd` on a non-systemd host). There is no kernel NFS server
 * here, so those tests stand a `modinfo` that says yes in front of PATH.
 */
let scratch: string;
let vagrantHome: string;
let nfsStandIn: string;
const projects: TestProject[] = [];

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'pcc-vagrant-validate-'));
  vagrantHome = path.join(scratch, 'vagrant-home');
  nfsStandIn = path.join(scratch, 'nfs-bin');
  mkdirSync(nfsStandIn);
  writeFileSync(path.join(nfsStandIn, 'modinfo'), '#!/bin/sh\n# stands in for a host with an nfsd module\nexit 0\n', { mode: 0o755 });
});
afterAll(() => {
  for (const p of projects) p.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

function project(options: Parameters<typeof makeProject>[0] = {}): TestProject {
  const p = makeProject(options);
  projects.push(p);
  return p;
}

/** Machines already up: bookkeeping plus running host records, so acquire adds new ones next to them. */
async function seedRunning(p: TestProject, machines: Machine[]): Promise<void> {
  await p.ctx.state.update((s) => {
    s.providers.vagrant = { machines };
    for (const m of machines) {
      s.hosts[m.name] = {
        name: m.name,
        address: '127.0.0.1',
        port: 2222,
        user: 'core',
        provider: 'vagrant',
        groups: ['vagrant'],
        status: 'running',
        createdAt: new Date().toISOString(),
        meta: {},
      };
    }
  });
}

function vagrantDir(p: TestProject): string {
  return path.join(p.root, '.pcc', 'vagrant');
}

describe('generated Vagrantfiles pass the real vagrant validate --ignore-provider', () => {
  it('pcc acquire vagrant --count 2 --dry: writes a Vagrantfile that vagrant validate accepts', async () => {
    const p = project();
    await acquireOn(vagrantProvider, { type: 'cpu', count: 2, wait: true }, p.dryCtx).then((r) => r.hosts);
    const text = readFileSync(path.join(vagrantDir(p), 'Vagrantfile'), 'utf8');
    expect(text.match(/config\.vm\.define/g)).toHaveLength(2);
    const result = vagrantValidate(vagrantDir(p), vagrantHome);
    expect(result.output).toContain('Vagrantfile validated successfully.');
    expect(result.ok).toBe(true);
  });

  it('controller only (pcc init --dry), host NFS check stood in: valid', async () => {
    const p = project();
    const planned = await vagrantProvider.initController!(p.dryCtx);
    expect(planned).toMatchObject({ name: 'init', status: 'planned', address: '192.168.56.10' });
    const text = readFileSync(path.join(vagrantDir(p), 'Vagrantfile'), 'utf8');
    expect(text).toContain("m.vm.synced_folder '../..', '/project', type: 'nfs'");
    expect(text).toContain("m.vm.synced_folder '../registry', '/var/lib/registry', type: 'nfs'");
    const result = vagrantValidate(vagrantDir(p), vagrantHome, nfsStandIn);
    expect(result.output).toContain('Vagrantfile validated successfully.');
  });

  it('controller + 1 compute, host NFS check stood in: valid', async () => {
    const p = project();
    await seedRunning(p, [{ name: 'init', role: 'controller', type: 'cpu', ip: '192.168.56.10' }]);
    await acquireOn(vagrantProvider, { type: 'cpu', count: 1, wait: true }, p.dryCtx).then((r) => r.hosts);
    const text = readFileSync(path.join(vagrantDir(p), 'Vagrantfile'), 'utf8');
    expect(text).toMatch(/Machines: init, vagrant\n/);
    expect(text).toContain("m.vm.network :private_network, ip: '192.168.56.11', netmask: '255.255.255.0'");
    const result = vagrantValidate(vagrantDir(p), vagrantHome, nfsStandIn);
    expect(result.output).toContain('Vagrantfile validated successfully.');
  });

  it("controller + 3 with gpu machines, custom box/cpus/memory/subnet and a key path with a space and a quote, host NFS check stood in: valid", async () => {
    const p = project({
      homeName: "o'brien home",
      vagrantEnv: [
        'VAGRANT_BOX=example/flatcar-beta',
        'VAGRANT_BOX_URL=https://example.invalid/flatcar_production_vagrant.json',
        'VAGRANT_CPUS=4',
        'VAGRANT_MEMORY=8192',
        'VAGRANT_SUBNET=10.77.0.0/16',
        'VAGRANT_CONTROLLER_IP=10.77.0.5',
        '',
      ].join('\n'),
    });
    await seedRunning(p, [
      { name: 'init', role: 'controller', type: 'cpu', ip: '10.77.0.5' },
      { name: 'vagrant', role: 'compute', type: 'cpu', ip: '10.77.0.6' },
    ]);
    await acquireOn(vagrantProvider, { type: 'gpu', count: 2, wait: true }, p.dryCtx).then((r) => r.hosts);
    expect(p.warnings).toContain('VirtualBox has no GPU passthrough: vagrant gpu machines have no GPU (setup will group them as cpu)');
    expect(p.notes).toContain('vagrant: vagrant3: gpu, 10.77.0.8, 4 CPUs, 8192 MiB, box example/flatcar-beta');
    const text = readFileSync(path.join(vagrantDir(p), 'Vagrantfile'), 'utf8');
    expect(text).toMatch(/Machines: init, vagrant, vagrant2, vagrant3\n/);
    expect(text).toContain("config.vm.box = 'example/flatcar-beta'");
    expect(text).toContain('vb.cpus = 4');
    expect(text).toContain('vb.memory = 8192');
    expect(text).toContain("netmask: '255.255.0.0'");
    expect(text).toContain(`config.ssh.private_key_path = ['${p.keyPath.replace("'", "\\'")}', pcc_insecure_key].compact`);
    const gpuIgnition = JSON.parse(readFileSync(path.join(vagrantDir(p), 'ignition', 'vagrant3.ign'), 'utf8'));
    expect(gpuIgnition.ignition.version).toMatch(/^3\./);
    // Every machine's first-boot config passes the upstream Ignition validator; VirtualBox has no GPU, so no NVIDIA sysexts.
    for (const m of ['vagrant2', 'vagrant3']) {
      expect(ignitionReport(readFileSync(path.join(vagrantDir(p), 'ignition', `${m}.ign`), 'utf8'))).toBe('');
    }
    expect(JSON.stringify(gpuIgnition)).not.toContain('nvidia');

    const result = vagrantValidate(vagrantDir(p), vagrantHome, nfsStandIn);
    expect(result.output).toContain('Vagrantfile validated successfully.');
  });
});
