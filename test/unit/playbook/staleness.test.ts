import { describe, expect, it } from 'vitest';
import type { Fact } from '../../../src/facts/fact.js';
import { docker, osRelease } from '../../../src/facts/host.js';
import { commandSucceeds, fileState, pathExists } from '../../../src/facts/files.js';
import { debPackages } from '../../../src/facts/packages.js';
import { ANYTHING, SYSTEM, serviceScope, tree } from '../../../src/facts/scope.js';
import { unitState } from '../../../src/facts/systemd-unit.js';
import { command, directory, file, packages, service, systemdUnit } from '../../../src/ops/index.js';
import { mountPointOf } from '../../../src/ops/systemd.js';
import { staleAfter } from '../../../src/playbook/staleness.js';

/** The one staleness rule as a table: a fact, what a change touches, and whether the fact must be read again. */
const rows: [string, Fact<unknown>, readonly string[], boolean][] = [
  ['a file after a write to it', fileState('/etc/x'), file('/etc/x', { content: '' }).touches, true],
  ['a file after a write to another', fileState('/etc/x'), file('/etc/y', { content: '' }).touches, false],
  ['a directory after a write inside it', fileState('/etc'), file('/etc/y', { content: '' }).touches, true],
  ['a file inside a directory that was made', fileState('/srv/d/f'), directory('/srv/d').touches, false],
  ['a file after a command nobody can bound', fileState('/etc/x'), command('true').touches, true],
  ['the OS (stable) after a command nobody can bound', osRelease, [ANYTHING], false],
  ['a unit after service() on it', unitState('docker.service'), service('docker.service').touches, true],
  ['a unit after systemdUnit() of another (its Wants= may start it)', unitState('a.service'), systemdUnit('b.service', { content: '' }).touches, true],
  ['a unit after a package install', unitState('a.service'), packages(['x']).touches, true],
  ['a unit after a file write elsewhere', unitState('a.service'), file('/etc/x', { content: '' }).touches, false],
  ['a unit after its own part alone changed', unitState('a.service'), [serviceScope('a.service')], true],
  ['a unit after another unit\'s part alone changed', unitState('a.service'), [serviceScope('b.service')], false],
  ['installed packages after a package install', debPackages(['x']), packages(['x']).touches, true],
  ['installed packages after a file write', debPackages(['x']), file('/etc/x', { content: '' }).touches, false],
  ['docker (the whole system) after service()', docker, service('docker.service').touches, true],
  ['docker (the whole system) after a file write', docker, file('/etc/docker/daemon.json', { content: '' }).touches, false],
  ['a path under a mount point after the mount unit', pathExists('/project/data/x'), systemdUnit('project.mount', { content: '' }).touches, true],
  ['a path outside the mount point after the mount unit', pathExists('/projects/x'), systemdUnit('project.mount', { content: '' }).touches, false],
  ['the mount point itself after its tree changed', fileState('/project'), [tree('/project')], true],
  ['a file after the system at large changed', fileState('/etc/x'), [SYSTEM], false],
];

describe('staleness: one rule over paths and the running system', () => {
  it.each(rows)('%s', (_name, fact, touches, stale) => {
    expect(staleAfter(fact, touches)).toBe(stale);
  });

  it('a check without reads depends on the whole system', () => {
    expect(staleAfter(commandSucceeds('test -f /x'), [SYSTEM])).toBe(true);
    expect(staleAfter(commandSucceeds('test -f /x'), ['/x'])).toBe(false);
    expect(staleAfter(commandSucceeds('test -f /x', ['/x']), ['/x'])).toBe(true);
  });

  it('a mount unit names its mount point as systemd escapes it', () => {
    expect([mountPointOf('project.mount'), mountPointOf('var-lib-pcc\\x2ddata.mount'), mountPointOf('-.mount'), mountPointOf('docker.service')]).toEqual([
      '/project',
      '/var/lib/pcc-data',
      '/',
      undefined,
    ]);
  });
});
