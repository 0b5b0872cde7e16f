import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { vagrantCommands, vagrantEnv } from '../../../../src/providers/vagrant/commands.js';
import { COMPUTE_BASE_NAME, newComputeMachines } from '../../../../src/providers/vagrant/machines.js';
import { vagrantNetwork } from '../../../../src/providers/vagrant/network.js';
import { machineStates, parseSshConfig, progressLine, vagrantErrorSummary } from '../../../../src/providers/vagrant/parse.js';
import { missingTool } from '../../../../src/providers/vagrant/tools.js';
import { renderVagrantfile, rubyString } from '../../../../src/render/vagrantfile.js';
import type { Settings } from '../../../../src/settings/load.js';
import { settingsSchema } from '../../../../src/settings/schema.js';
import { emptyState } from '../../../../src/state/schema.js';
import { fixturesDir } from '../../../fixtures/vagrant-project.js';

const recorded = (name: string) => readFileSync(path.join(fixturesDir, 'recorded', name), 'utf8');

function settings(values: Record<string, string> = {}): Settings {
  const origin = Object.fromEntries(Object.keys(values).map((k) => [k, 'config/vagrant.env']));
  return { values: settingsSchema.parse(values), vars: {}, origin };
}

describe('vagrant commands (exact argv)', () => {
  it('builds every command pcc runs', () => {
    expect(vagrantCommands.up(['init'])).toEqual(['vagrant', 'up', '--provider=virtualbox', 'init']);
    expect(vagrantCommands.sshConfig(['vagrant', 'vagrant2'])).toEqual(['vagrant', 'ssh-config', 'vagrant', 'vagrant2']);
    expect(vagrantCommands.suspend(['init'])).toEqual(['vagrant', 'suspend', 'init']);
    expect(vagrantCommands.halt(['init'])).toEqual(['vagrant', 'halt', 'init']);
    expect(vagrantCommands.destroy([])).toEqual(['vagrant', 'destroy', '-f']);
    expect(vagrantCommands.destroy(['vagrant2'])).toEqual(['vagrant', 'destroy', '-f', 'vagrant2']);
    expect(vagrantCommands.status()).toEqual(['vagrant', 'status', '--machine-readable']);
    expect(vagrantEnv('/p/.pcc/vagrant')).toEqual({ VAGRANT_CWD: '/p/.pcc/vagrant', VAGRANT_CHECKPOINT_DISABLE: '1' });
  });
});

describe('parsing recorded vagrant output', () => {
  it('ssh-config (recorded) gives address, port, user and the first IdentityFile per machine', () => {
    const text = recorded('ssh-config.stdout').replaceAll('{{PCC_SSH_KEY}}', '/home/me/.ssh/id_ed25519');
    expect(parseSshConfig(text)).toEqual([
      { name: 'init', address: '127.0.0.1', port: 2222, user: 'core', key: '/home/me/.ssh/id_ed25519' },
      { name: 'vagrant', address: '127.0.0.1', port: 2200, user: 'core', key: '/home/me/.ssh/id_ed25519' },
      { name: 'vagrant2', address: '127.0.0.1', port: 2201, user: 'core', key: '/home/me/.ssh/id_ed25519' },
    ]);
  });

  it('status --machine-readable (recorded) gives each machine its state', () => {
    expect([...machineStates(recorded('status-running.stdout'))]).toEqual([
      ['init', 'running'],
      ['vagrant', 'running'],
      ['vagrant2', 'running'],
    ]);
    expect([...machineStates(recorded('status-saved.stdout')).values()]).toEqual(['saved', 'saved', 'saved']);
    expect([...machineStates(recorded('status-poweroff.stdout')).values()]).toEqual(['poweroff', 'poweroff', 'poweroff']);
    expect([...machineStates(recorded('status-not-created.stdout')).values()]).toEqual(['not_created', 'not_created', 'not_created']);
    expect(machineStates(recorded('status-no-provider.stdout')).size).toBe(0);
  });

  it('progress lines (recorded) are attributed to their machine', () => {
    const known = new Set(['init', 'vagrant']);
    expect(progressLine('==> init: Booting VM...', known)).toEqual({ machine: 'init', message: 'Booting VM...' });
    expect(progressLine('    vagrant: SSH username: core', known)).toEqual({ machine: 'vagrant', message: 'SSH username: core' });
    expect(progressLine("Bringing machine 'init' up with 'virtualbox' provider...", known).machine).toBe('init');
    expect(progressLine('==> other: x', known)).toEqual({ message: '==> other: x' });
    const lines = recorded('up-create-init.stdout').trim().split('\n');
    expect(lines.every((l) => progressLine(l, new Set(['init'])).machine === 'init')).toBe(true);
  });

  it('errors (recorded) become one line', () => {
    const up = vagrantErrorSummary(recorded('up-no-virtualbox.stderr'));
    expect(up).not.toContain('\n');
    expect(up).toMatch(/Vagrant could not detect VirtualBox!/);
    const status = vagrantErrorSummary('', recorded('status-no-provider.stdout'));
    expect(status).toMatch(/^No usable default provider could be found for your system\. Vagrant relies on interactions with 3rd party systems, known as "providers"/);
    expect(status.length).toBeLessThanOrEqual(401);
    expect(vagrantErrorSummary(recorded('no-nfs.stderr'))).toMatch(/^It appears your machine doesn't support NFS, .* \(the controller shares its folders over NFS: install an NFS server, e\.g\. apt-get install nfs-kernel-server\)$/);
  });
});

describe('names and addresses', () => {
  it('the first compute machine is `vagrant`, then vagrant2, vagrant3 ... around taken names and addresses', () => {
    const net = vagrantNetwork(settings());
    const state = emptyState();
    const first = newComputeMachines(state, [], net, 'cpu', 1);
    expect(first).toEqual([{ name: COMPUTE_BASE_NAME, role: 'compute', type: 'cpu', ip: '192.168.56.11' }]);
    const taken = [{ name: 'init', role: 'controller' as const, type: 'cpu' as const, ip: '192.168.56.10' }, ...first];
    expect(newComputeMachines(state, taken, net, 'gpu', 2).map((m) => [m.name, m.ip, m.type])).toEqual([
      ['vagrant2', '192.168.56.12', 'gpu'],
      ['vagrant3', '192.168.56.13', 'gpu'],
    ]);
    expect(() => newComputeMachines(state, [], net, 'cpu', 0)).toThrow(/--count 0/);
  });

  it('a controller address outside the subnet or on the host adapter is a one-line settings error', () => {
    expect(() => vagrantNetwork(settings({ VAGRANT_CONTROLLER_IP: '10.0.0.5' }))).toThrow(
      'config/vagrant.env: VAGRANT_CONTROLLER_IP=10.0.0.5 is not inside VAGRANT_SUBNET=192.168.56.0/24; pick an address in that subnet, e.g. 192.168.56.10',
    );
    expect(() => vagrantNetwork(settings({ VAGRANT_CONTROLLER_IP: '192.168.56.1' }))).toThrow(/is reserved/);
    const small = vagrantNetwork(settings({ VAGRANT_SUBNET: '192.168.56.0/29', VAGRANT_CONTROLLER_IP: '192.168.56.6' }));
    expect([...small.candidates()]).toEqual(['192.168.56.6', '192.168.56.2', '192.168.56.3', '192.168.56.4', '192.168.56.5']);
  });
});

describe('Vagrantfile rendering', () => {
  it('quotes every value as a Ruby single-quoted literal', () => {
    expect(rubyString("it's #{`rm -rf /`} \\")).toBe("'it\\'s #{`rm -rf /`} \\\\'");
    const text = renderVagrantfile({
      box: "evil'box",
      cpus: 1,
      memory: 512,
      netmask: '255.255.255.0',
      sshPrivateKey: '/k',
      machines: [{ name: 'vagrant', role: 'compute', ip: '192.168.56.11', ignitionFile: 'ignition/vagrant.ign', syncedFolders: [] }],
    });
    expect(text).toContain("config.vm.box = 'evil\\'box'");
    expect(text).not.toContain('box_url');
  });

  it('missing tools are named by PATH lookup', () => {
    expect(missingTool({ PATH: '' })).toMatch(/^vagrant is not installed/);
  });
});
