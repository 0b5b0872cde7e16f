import { describe, expect, it } from 'vitest';
import { planAcquire, planRelease, planResume, planSave, type ListedHost } from '../../../src/fleet/reconcile.js';
import { chooseSubnet, parseAddresses } from '../../../src/providers/local/subnet.js';
import { profileRegion } from '../../../src/settings/load.js';
import { withRegistryPort } from '../../../src/images/registry.js';

const cpu = { key: 'cpu', label: 'cpu' };
const host = (name: string, state: ListedHost['state'], spec = 'cpu', role: ListedHost['role'] = 'compute'): ListedHost => ({ name, state, spec, role });

describe('one reconcile for every provider: exact plans for a given state', () => {
  it('acquire --count N: stopped ones of the spec start first, then only the missing are created', () => {
    expect(planAcquire([], cpu, 3)).toEqual([{ op: 'create', spec: 'cpu', label: 'cpu', count: 3 }]);
    expect(planAcquire([host('local1', 'running'), host('local2', 'stopped')], cpu, 3)).toEqual([
      { op: 'start', hosts: ['local2'] },
      { op: 'create', spec: 'cpu', label: 'cpu', count: 1 },
    ]);
  });

  it('--count after an interrupted run of 6: 6 exist, 3 asked: nothing is created and nothing more starts', () => {
    const six = ['local1', 'local2', 'local3', 'local4', 'local5', 'local6'];
    // The killed run left 2 running and 4 half-made (stopped).
    const listed = six.map((n, i) => host(n, i < 2 ? 'running' : 'stopped'));
    expect(planAcquire(listed, cpu, 3)).toEqual([{ op: 'start', hosts: ['local3'] }]);
    expect(planAcquire(six.map((n) => host(n, 'running')), cpu, 3)).toEqual([]);
  });

  it('hosts of another spec and the controller are left alone', () => {
    const listed = [host('init', 'stopped', 'controller', 'controller'), host('gpu1', 'stopped', 'g5'), host('cpu1', 'running')];
    expect(planAcquire(listed, cpu, 2)).toEqual([{ op: 'create', spec: 'cpu', label: 'cpu', count: 1 }]);
  });

  it('resume starts everything saved and never creates; with nothing saved it plans nothing', () => {
    const listed = [host('init', 'stopped', 'controller', 'controller'), host('local10', 'stopped'), host('local2', 'stopped'), host('local3', 'running')];
    expect(planResume(listed)).toEqual([{ op: 'start', hosts: ['init', 'local2', 'local10'] }]);
    expect(planResume([host('local1', 'running')])).toEqual([]);
    expect(planResume([])).toEqual([]);
  });

  it('save stops what runs; release terminates only the named hosts that exist', () => {
    expect(planSave([host('local1', 'running'), host('local2', 'stopped')])).toEqual([{ op: 'stop', hosts: ['local1'] }]);
    expect(planRelease([host('local1', 'running'), host('local2', 'running'), host('local3', 'running')], ['local2', 'nope'])).toEqual([
      { op: 'terminate', hosts: ['local2'] },
    ]);
  });

  it('save also puts away a stopped host that was not (a save killed between two power-offs); acquire and resume start it', () => {
    const listed = [host('local1', 'stopped'), { ...host('local2', 'stopped'), unsaved: true }];
    expect(planSave(listed)).toEqual([{ op: 'stop', hosts: ['local2'] }]);
    expect(planResume(listed)).toEqual([{ op: 'start', hosts: ['local1', 'local2'] }]);
    expect(planAcquire(listed, cpu, 2)).toEqual([{ op: 'start', hosts: ['local1', 'local2'] }]);
  });

  it('ten save/resume cycles keep the host count (plans only start what exists)', () => {
    let listed = [host('init', 'running', 'controller', 'controller'), host('local1', 'running')];
    for (let i = 0; i < 10; i++) {
      expect(planSave(listed)).toEqual([{ op: 'stop', hosts: ['init', 'local1'] }]);
      listed = listed.map((h) => ({ ...h, state: 'stopped' }));
      expect(planResume(listed)).toEqual([{ op: 'start', hosts: ['init', 'local1'] }]);
      listed = listed.map((h) => ({ ...h, state: 'running' }));
    }
    expect(listed).toHaveLength(2);
  });
});

describe('a free local subnet for a new project', () => {
  const addrs = parseAddresses(
    '1: lo    inet 127.0.0.1/8 scope host lo\n7: pcc-aaaaaaaaaa    inet 10.213.0.1/24 scope global pcc-aaaaaaaaaa\n9: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0\n',
  );
  it('the default is taken by another project: the next /24 is picked', () => {
    expect(chooseSubnet({ configured: '10.213.0.0/24', ownBridge: 'pcc-bbbbbbbbbb', addresses: addrs })).toMatchObject({ subnet: { cidr: '10.213.1.0/24' }, picked: true });
  });
  it('a LOCAL_SUBNET set by hand and in use is refused, naming the file', () => {
    expect(() => chooseSubnet({ configured: '10.213.0.0/24', origin: 'config/local.env', ownBridge: 'pcc-bbbbbbbbbb', addresses: addrs })).toThrow(
      /^config\/local.env: LOCAL_SUBNET=10.213.0.0\/24 is already used on this machine by pcc-aaaaaaaaaa/,
    );
  });
  it('a project keeps its own subnet', () => {
    expect(chooseSubnet({ recorded: '10.213.0.0/24', configured: '10.213.0.0/24', ownBridge: 'pcc-aaaaaaaaaa', addresses: addrs })).toMatchObject({ subnet: { cidr: '10.213.0.0/24' }, picked: false });
  });
});

describe('settings meanings', () => {
  it("the AWS profile's region", () => {
    const text = '[default]\nregion = us-west-2\n[profile lab]\noutput = json\nregion=eu-central-1\n';
    expect(profileRegion(text, 'default')).toBe('us-west-2');
    expect(profileRegion(text, 'lab')).toBe('eu-central-1');
    expect(profileRegion(text, 'other')).toBeUndefined();
  });
  it('REGISTRY_HOST is host:port: the port is added only when none was written (no 10.214.0.1:5000:5000)', () => {
    expect(withRegistryPort('10.214.0.1:5000', 5000)).toBe('10.214.0.1:5000');
    expect(withRegistryPort('10.214.0.1', 5000)).toBe('10.214.0.1:5000');
  });
});
