import { describe, expect, it } from 'vitest';
import { hostGroups, selectHosts } from '../../../src/inventory/pattern.js';
import type { HostRecord } from '../../../src/state/schema.js';

const host = (name: string, provider: HostRecord['provider'], groups: string[]): HostRecord => ({
  name,
  address: '127.0.0.1',
  port: 22,
  user: 'root',
  provider,
  groups,
  createdAt: '2026-01-01T00:00:00Z',
  meta: {},
});

const hosts = [
  host('init', 'local', ['controller']),
  host('local1', 'local', ['cpu']),
  host('local2', 'local', ['cpu']),
  host('gpu1', 'ec2', ['gpu', 'g5.xlarge']),
  host('cpu1', 'ec2', ['cpu', 'c6i.xlarge']),
  host('local10', 'local', ['cpu']),
];
const names = (p: string) => selectHosts(p, hosts).map((h) => h.name);

describe('host patterns, as in Ansible', () => {
  it('names, groups, providers and all', () => {
    expect(names('local1')).toEqual(['local1']);
    expect(names('gpu')).toEqual(['gpu1']);
    expect(names('ec2')).toEqual(['cpu1', 'gpu1']);
    expect(names('all')).toEqual(['cpu1', 'gpu1', 'init', 'local1', 'local2', 'local10']);
  });
  it('union, intersection, exclusion', () => {
    expect(names('gpu:local1')).toEqual(['gpu1', 'local1']);
    expect(names('cpu:&ec2')).toEqual(['cpu1']);
    expect(names('all:!controller')).toEqual(['cpu1', 'gpu1', 'local1', 'local2', 'local10']);
    expect(names('local:!init:&cpu')).toEqual(['local1', 'local2', 'local10']);
    expect(names('g5.xlarge,cpu1')).toEqual(['cpu1', 'gpu1']);
  });
  it('globs over names and aliases', () => {
    expect(names('local1*')).toEqual(['local1', 'local10']);
    // A glob matches group names too: `local*` takes the local provider's group, which holds no controller.
    expect(names('local*')).toEqual(['local1', 'local2', 'local10']);
    expect(names('ec2-*')).toEqual(['cpu1', 'gpu1']);
    expect(names('cpu-local?')).toEqual(['local1', 'local2']);
  });
  it('-term excludes as !term does, and needs no quoting in bash', () => {
    expect(names('all:-controller')).toEqual(names('all:!controller'));
    expect(names('all:-init')).toEqual(['cpu1', 'gpu1', 'local1', 'local2', 'local10']);
    expect(names('local,-local1')).toEqual(['local2', 'local10']);
    expect(() => names('all:-')).toThrow('empty term');
  });
  it('nothing matched is an error that names the pattern', () => {
    expect(() => names('nosuch')).toThrow("pattern 'nosuch': no host or group is named 'nosuch'; see pcc hosts for names and groups");
    expect(() => names('gpu:&local')).toThrow("pattern 'gpu:&local' matches no host");
    expect(() => names('zz*')).toThrow("pattern 'zz*' matches no host");
    expect(() => names('a::b')).toThrow('empty term');
  });
});

describe('a provider pattern means compute hosts: pcc exec local does not reach init (issue 30, item 5)', () => {
  // The controller's record as each provider writes it now, and as older pcc versions wrote it.
  const states = {
    'local, now': host('init', 'local', ['controller']),
    'local, older record': host('init', 'local', ['init', 'controller']),
    'vagrant, older record': host('init', 'vagrant', ['vagrant', 'controller']),
  };
  for (const [what, init] of Object.entries(states)) {
    it(`${what}: local/vagrant match the compute hosts only; init and controller reach the controller`, () => {
      const all = [init, host('local1', init.provider, [init.provider, 'cpu']), host('local2', init.provider, [init.provider, 'cpu'])];
      const pick = (p: string) => selectHosts(p, all).map((h) => h.name);
      expect(pick(init.provider)).toEqual(['local1', 'local2']);
      expect(pick(`${init.provider}-*`)).toEqual(['local1', 'local2']);
      expect(pick('init')).toEqual(['init']);
      expect(pick('controller')).toEqual(['init']);
      expect(pick('all')).toEqual(['init', 'local1', 'local2']);
      expect(pick(`${init.provider}:init`)).toEqual(['init', 'local1', 'local2']);
      // One truth: pcc hosts, pcc status, the aliases and the inventory export all read these.
      expect(hostGroups(init)).toEqual(['controller']);
      expect(hostGroups(all[1]!)).toEqual([init.provider, 'cpu']);
    });
  }
  it('a provider with only its controller matches nothing, with the usual error', () => {
    expect(() => selectHosts('local', [host('init', 'local', ['controller'])])).toThrow(
      "pattern 'local': local has no compute hosts; the controller is not in its provider's group, name it as init or controller",
    );
  });
});
