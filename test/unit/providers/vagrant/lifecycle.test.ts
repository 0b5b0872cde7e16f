import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPccError } from '../../../../src/core/errors.js';
import { selectHosts } from '../../../../src/inventory/pattern.js';
import { vagrantProvider } from '../../../../src/providers/vagrant/index.js';
import { makeProject, StandIn, standInPath, type TestProject } from '../../../fixtures/vagrant-project.js';
import { acquireOn, resumeOn, saveOn } from '../../../../src/fleet/lifecycle.js';

/**
 * VirtualBox cannot run here: vagrant is the stand-in from
 * test/fixtures/vagrant, replaying outputs recorded from real vagrant runs
 * (see the README there for which were captured and which were written).
 */
const UP = ['up', '--provider=virtualbox'];
const savedPath = process.env.PATH;

function vagrantDir(p: TestProject): string {
  return path.join(p.root, '.pcc', 'vagrant');
}

describe('vagrant lifecycle against recorded vagrant output (no VirtualBox here)', () => {
  let p: TestProject;
  let vagrant: StandIn;

  beforeAll(() => {
    p = makeProject();
    process.env.PATH = standInPath(path.join(p.root, '..', 'bin'), ['vagrant', 'VBoxManage']);
    vagrant = new StandIn(path.join(p.root, '..', 'stand-in'), p.keyPath);
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    p.cleanup();
  });

  it('recorded: --dry renders the Vagrantfile and reports the plan without running vagrant', async () => {
    const hosts = await acquireOn(vagrantProvider, { type: 'cpu', count: 2, wait: true }, p.dryCtx).then((r) => r.hosts);
    expect(hosts).toEqual([]);
    expect(vagrant.take()).toEqual([]);
    const vagrantfile = readFileSync(path.join(vagrantDir(p), 'Vagrantfile'), 'utf8');
    expect(vagrantfile).toContain("config.vm.define 'vagrant' do");
    expect(vagrantfile).toContain("config.vm.define 'vagrant2' do");
    expect(p.notes).toContain('vagrant: would run: vagrant up --provider=virtualbox vagrant vagrant2, then vagrant ssh-config');
    expect(p.notes).toContain('vagrant: vagrant2: cpu, 192.168.56.12, 2 CPUs, 2048 MiB, box flatcar-stable');
    expect((await p.ctx.state.read()).providers).toEqual({});
  });

  it('recorded up + ssh-config: pcc init brings up the controller and records what ssh-config reports', async () => {
    vagrant.answer({ up: 'up-create-init', 'ssh-config': 'ssh-config' });
    const init = await vagrantProvider.initController!(p.ctx);

    const calls = vagrant.take();
    expect(calls.map((c) => c.argv)).toEqual([
      [...UP, 'init'],
      ['ssh-config', 'init'],
    ]);
    for (const c of calls) {
      expect(c.VAGRANT_CWD).toBe(vagrantDir(p));
      expect(c.VAGRANT_CHECKPOINT_DISABLE).toBe('1');
    }
    // Live output, line by line, attributed to the machine it is about.
    expect(p.hostLines).toContainEqual(['init', "Bringing machine 'init' up with 'virtualbox' provider..."]);
    expect(p.hostLines).toContainEqual(['init', 'Booting VM...']);
    expect(p.hostLines).toContainEqual(['init', 'SSH address: 127.0.0.1:2222']);

    expect(init).toMatchObject({
      name: 'init',
      address: '127.0.0.1',
      port: 2222,
      user: 'core',
      key: p.keyPath,
      provider: 'vagrant',
      groups: ['controller'],
      providerId: 'init',
      status: 'running',
      site: 'home',
      dialable: false,
      siteAddress: '192.168.56.10',
      // Vagrant's share of the whole folder, and the view of it (without .pcc/ and config/) that setup exports.
      exportPath: '/project-export', projectShare: '/project', registryStorage: '/var/lib/registry', meta: { role: 'controller' },
    });
    const state = await p.ctx.state.read();
    expect(state.hosts.init).toEqual(init);
    expect(existsSync(path.join(vagrantDir(p), 'ignition', 'init.ign'))).toBe(true);
  });

  it('recorded up + ssh-config: acquire --count 2 adds vagrant and vagrant2, reachable as cpu-vagrant and vagrant-<name>', async () => {
    vagrant.answer({ up: 'up-create-vagrant', 'ssh-config': 'ssh-config' });
    const hosts = await acquireOn(vagrantProvider, { type: 'cpu', count: 2, wait: true }, p.ctx).then((r) => r.hosts);
    expect(vagrant.take().map((c) => c.argv)).toEqual([
      [...UP, 'vagrant', 'vagrant2'],
      ['ssh-config', 'vagrant', 'vagrant2'],
    ]);
    expect(hosts.map((h) => [h.name, h.address, h.port, h.groups])).toEqual([
      ['vagrant', '127.0.0.1', 2200, ['vagrant', 'cpu']],
      ['vagrant2', '127.0.0.1', 2201, ['vagrant', 'cpu']],
    ]);
    expect(hosts.map((h) => h.siteAddress)).toEqual(['192.168.56.11', '192.168.56.12']);
    expect(p.hostLines).toContainEqual(['vagrant2', 'Fixed port collision for 22 => 2222. Now on port 2201.']);

    // The names the ssh aliases are made of (`<host>`, `<group>-<host>`).
    const all = Object.values((await p.ctx.state.read()).hosts);
    expect(selectHosts('cpu-vagrant', all).map((h) => h.name)).toEqual(['vagrant']);
    expect(selectHosts('vagrant-vagrant2', all).map((h) => h.name)).toEqual(['vagrant2']);
    expect(selectHosts('init', all).map((h) => h.name)).toEqual(['init']);
    // A provider pattern means compute hosts: the controller is reached as init or controller.
    expect(selectHosts('vagrant', all).map((h) => h.name)).toEqual(['vagrant', 'vagrant2']);
    expect(selectHosts('controller', all).map((h) => h.name)).toEqual(['init']);

    const vagrantfile = readFileSync(path.join(vagrantDir(p), 'Vagrantfile'), 'utf8');
    expect(vagrantfile).toMatch(/Machines: init, vagrant, vagrant2/);
  });

  it('recorded status: vagrant status --machine-readable gives each host its state', async () => {
    vagrant.answer({ status: 'status-running' });
    const view = await vagrantProvider.status(p.ctx);
    expect(vagrant.take().map((c) => c.argv)).toEqual([['status', '--machine-readable']]);
    expect(view).toEqual([
      { name: 'init', provider: 'vagrant', state: 'running', usdPerHour: 0, address: '127.0.0.1:2222', groups: ['controller'] },
      { name: 'vagrant', provider: 'vagrant', state: 'running', usdPerHour: 0, address: '127.0.0.1:2200', groups: ['vagrant', 'cpu'] },
      { name: 'vagrant2', provider: 'vagrant', state: 'running', usdPerHour: 0, address: '127.0.0.1:2201', groups: ['vagrant', 'cpu'] },
    ]);
  });

  it('recorded suspend: save suspends every machine and records them saved', async () => {
    vagrant.answer({ suspend: 'suspend' });
    const saved = await saveOn(vagrantProvider, {}, p.ctx).then((r) => r.hosts);
    expect(vagrant.take().map((c) => c.argv)).toEqual([['suspend', 'init', 'vagrant', 'vagrant2']]);
    expect(saved.map((h) => [h.name, h.status])).toEqual([
      ['init', 'saved'],
      ['vagrant', 'saved'],
      ['vagrant2', 'saved'],
    ]);
    expect(p.hostLines).toContainEqual(['vagrant2', 'Saving VM state and suspending execution...']);

    vagrant.answer({ status: 'status-saved' });
    expect((await vagrantProvider.status(p.ctx)).map((s) => s.state)).toEqual(['saved', 'saved', 'saved']);
    vagrant.take();
  });

  it('recorded resume: resume starts the saved machines and makes no new ones', async () => {
    vagrant.answer({ up: 'up-resume', 'ssh-config': 'ssh-config' });
    const before = (await p.ctx.state.read()).hosts;
    const hosts = await resumeOn(vagrantProvider, p.ctx).then((r) => r.hosts);
    expect(vagrant.take().map((c) => c.argv)).toEqual([
      [...UP, 'init', 'vagrant', 'vagrant2'],
      ['ssh-config', 'init', 'vagrant', 'vagrant2'],
    ]);
    expect(hosts.map((h) => [h.name, h.status])).toEqual([
      ['init', 'running'],
      ['vagrant', 'running'],
      ['vagrant2', 'running'],
    ]);
    const after = await p.ctx.state.read();
    expect(Object.keys(after.hosts).sort()).toEqual(['init', 'vagrant', 'vagrant2']);
    expect(after.hosts.vagrant!.createdAt).toBe(before.vagrant!.createdAt);
    expect(p.notes).toContain('vagrant: start init, vagrant, vagrant2');
  });

  it('recorded halt: save --halt halts every machine and records them powered off', async () => {
    vagrant.answer({ halt: 'halt' });
    const saved = await saveOn(vagrantProvider, { halt: true }, p.ctx).then((r) => r.hosts);
    expect(vagrant.take().map((c) => c.argv)).toEqual([['halt', 'init', 'vagrant', 'vagrant2']]);
    expect(saved.map((h) => h.status)).toEqual(['poweroff', 'poweroff', 'poweroff']);
    vagrant.answer({ status: 'status-poweroff' });
    expect((await vagrantProvider.status(p.ctx)).map((s) => s.state)).toEqual(['poweroff', 'poweroff', 'poweroff']);
    vagrant.take();
  });

  it('recorded destroy: vagrant destroy -f, hosts and .pcc/vagrant removed, .pcc/registry kept', async () => {
    const registry = path.join(p.root, '.pcc', 'registry');
    mkdirSync(path.join(registry, 'docker'), { recursive: true });
    writeFileSync(path.join(registry, 'docker', 'blob'), 'image layer');

    vagrant.answer({ destroy: 'destroy' });
    const report = await vagrantProvider.destroy(p.ctx);
    expect(vagrant.take().map((c) => c.argv)).toEqual([['destroy', '-f']]);
    expect(report.removed).toEqual([
      'vagrant machine init (192.168.56.10)',
      'vagrant machine vagrant (192.168.56.11)',
      'vagrant machine vagrant2 (192.168.56.12)',
    ]);
    expect(p.hostLines).toContainEqual(['init', 'Destroying VM and associated drives...']);
    const state = await p.ctx.state.read();
    expect(state.hosts).toEqual({});
    expect(state.providers.vagrant).toBeUndefined();
    expect(existsSync(vagrantDir(p))).toBe(false);
    expect(readFileSync(path.join(registry, 'docker', 'blob'), 'utf8')).toBe('image layer');

    // Nothing left: status and a second destroy run no vagrant at all.
    expect(await vagrantProvider.status(p.ctx)).toEqual([]);
    expect(await vagrantProvider.destroy(p.ctx)).toEqual({ removed: [] });
    expect(vagrant.take()).toEqual([]);
  });

  it('recorded up failure: vagrant\'s own "could not detect VirtualBox" error becomes one line, and destroy still finds the machine', async () => {
    vagrant.answer({ up: 'up-no-virtualbox' });
    const err = await vagrantProvider.initController!(p.ctx).catch((e: unknown) => e);
    expect(isPccError(err)).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^`vagrant up` failed: The provider 'virtualbox' .* Vagrant could not detect VirtualBox!/);
    expect(message).toContain('install VirtualBox from https://www.virtualbox.org/wiki/Downloads');
    expect(vagrant.take().map((c) => c.argv)).toEqual([[...UP, 'init']]);

    // Recorded before `vagrant up` ran, so nothing is orphaned.
    expect((await p.ctx.state.read()).hosts).toEqual({});
    vagrant.answer({ destroy: 'destroy' });
    expect((await vagrantProvider.destroy(p.ctx)).removed).toEqual(['vagrant machine init (192.168.56.10)']);
    vagrant.take();
  });

  it('recorded status failure: when vagrant status fails, the recorded states are shown with a warning', async () => {
    vagrant.answer({ up: 'up-create-init', 'ssh-config': 'ssh-config' });
    await vagrantProvider.initController!(p.ctx);
    vagrant.answer({ status: 'status-no-provider' });
    const view = await vagrantProvider.status(p.ctx);
    expect(view.map((s) => [s.name, s.state])).toEqual([['init', 'running']]);
    expect(p.warnings.at(-1)).toMatch(/^vagrant status failed, showing recorded states: No usable default provider could be found for your system\./);
    vagrant.answer({ destroy: 'destroy' });
    await vagrantProvider.destroy(p.ctx);
    vagrant.take();
  });
});

describe('missing tools (stand-in PATH without them): one line, before vagrant runs', () => {
  let p: TestProject;
  beforeAll(() => {
    p = makeProject();
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    p.cleanup();
  });

  it('no VBoxManage on PATH: says VirtualBox is missing and where to get it; vagrant is never called', async () => {
    process.env.PATH = standInPath(path.join(p.root, '..', 'bin-no-vbox'), ['vagrant']);
    const vagrant = new StandIn(path.join(p.root, '..', 'stand-in'), p.keyPath);
    const err = await acquireOn(vagrantProvider, { type: 'cpu', count: 1, wait: true }, p.ctx).then((r) => r.hosts).catch((e: unknown) => e);
    expect(isPccError(err)).toBe(true);
    expect((err as Error).message).toBe(
      'VirtualBox is not installed (VBoxManage is not on PATH); install it from https://www.virtualbox.org/wiki/Downloads, or use the local provider (pcc init --provider local)',
    );
    expect(vagrant.take()).toEqual([]);
    expect((await p.ctx.state.read()).providers).toEqual({});
  });

  it('no vagrant on PATH: says how to install it', async () => {
    process.env.PATH = standInPath(path.join(p.root, '..', 'bin-none'), ['VBoxManage']);
    const err = await vagrantProvider.initController!(p.ctx).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'vagrant is not installed (not on PATH); install it with `apt-get install --no-install-recommends vagrant` or from https://developer.hashicorp.com/vagrant/install',
    );
  });
});
