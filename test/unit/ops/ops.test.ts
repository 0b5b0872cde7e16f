import { describe, expect, it } from 'vitest';
import { OperationRefusedError } from '../../../src/core/errors.js';
import type { Fact } from '../../../src/facts/fact.js';
import { parseFileState, type FileState } from '../../../src/facts/files.js';
import { blockInFile, check, command, directory, file, lineInFile, packages, service, systemdUnit, template } from '../../../src/ops/index.js';
import type { FactReader, Operation } from '../../../src/ops/operation.js';
import { renderApplyScript } from '../../../src/playbook/apply-script.js';
import { renderCommand } from '../../../src/remote/shell.js';

/** Plans an op against facts given by key, as the runner would after a round trip. */
function plan(op: Operation, facts: Record<string, unknown>, changed: Operation[] = []) {
  return op.plan((<T>(f: Fact<T>) => {
    if (!(f.key in facts)) throw new Error(`missing fact ${f.key}`);
    return facts[f.key] as T;
  }) as FactReader, { changed: (o) => changed.includes(o) });
}

const absent: FileState = { exists: false };
const regular = (content: string, mode = '0644', owner = 'root'): FileState => ({
  exists: true,
  type: 'file',
  mode,
  owner,
  group: 'root',
  size: content.length,
  content: Buffer.from(content),
});
/**
 * The write scripts, pinned as text. A mode without execute bits is the
 * umask alone; one with them is chmod-ed before the rename; small content is
 * printf's argument, large (or with a NUL byte) comes on stdin. A temp file an
 * interrupted write left behind goes first, so it cannot lend the new file
 * its mode.
 */
const WRITE_0600 = `{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && umask 0177 && printf '%s' "$2" > "$1.pcc-new" && mv -f "$1.pcc-new" "$1"`;
const WRITE_0640 = `{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && umask 0137 && printf '%s' "$2" > "$1.pcc-new" && mv -f "$1.pcc-new" "$1"`;
const WRITE_0644 = `{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && umask 0133 && printf '%s' "$2" > "$1.pcc-new" && mv -f "$1.pcc-new" "$1"`;
const WRITE_0755 = `{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && umask 0077 && printf '%s' "$3" > "$1.pcc-new" && chmod "$2" "$1.pcc-new" && mv -f "$1.pcc-new" "$1"`;
const WRITE_0644_STDIN = `{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && umask 0133 && cat > "$1.pcc-new" && mv -f "$1.pcc-new" "$1"`;
const WRITE_0755_STDIN = `{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && umask 0077 && cat > "$1.pcc-new" && chmod "$2" "$1.pcc-new" && mv -f "$1.pcc-new" "$1"`;

describe('operations are pure builders, tested by exact command', () => {
  it('directory: create, then nothing', () => {
    const op = directory('/srv/a', { mode: '0750' });
    expect(plan(op, { 'file:/srv/a': absent })?.commands).toEqual([{ argv: ['mkdir', '-p', '-m', '0750', '/srv/a'] }]);
    expect(plan(op, { 'file:/srv/a': { exists: true, type: 'directory', mode: '0750', owner: 'root', group: 'root' } })).toBeUndefined();
    expect(plan(op, { 'file:/srv/a': { exists: true, type: 'directory', mode: '0755', owner: 'root', group: 'root' } })?.commands).toEqual([
      { argv: ['chmod', '0750', '/srv/a'] },
    ]);
  });

  it('file: content, mode and owner', () => {
    const op = file('/etc/x.conf', { content: 'a=1\n', mode: '0600', owner: 'core' });
    expect(plan(op, { 'file+sha256:/etc/x.conf': absent })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0600, 'pcc-write', '/etc/x.conf', 'a=1\n'] },
      { argv: ['chown', 'core', '/etc/x.conf'] },
    ]);
    expect(plan(op, { 'file+sha256:/etc/x.conf': regular('a=1\n', '0600', 'core') })).toBeUndefined();
    expect(plan(op, { 'file+sha256:/etc/x.conf': regular('a=1\n', '0644', 'core') })?.commands).toEqual([{ argv: ['chmod', '0600', '/etc/x.conf'] }]);
    const changed = plan(op, { 'file+sha256:/etc/x.conf': regular('a=0\n', '0600', 'core') });
    expect(changed?.commands[0]).toEqual({ argv: ['sh', '-c', WRITE_0600, 'pcc-write', '/etc/x.conf', 'a=1\n'] });
    expect(changed?.diff?.()).toContain('-a=0\n+a=1');
  });

  it('a change says what the file fact will read once it is applied', () => {
    const written = plan(file('/etc/x', { content: 'a\n', mode: '0640' }), { 'file+sha256:/etc/x': absent });
    expect(written?.predicts?.map((p) => [p.fact.key, p.value])).toEqual([
      ['file:/etc/x', { exists: true, type: 'file', mode: '0640', size: 2, content: Buffer.from('a\n') }],
      ['file+sha256:/etc/x', { exists: true, type: 'file', mode: '0640', size: 2, content: Buffer.from('a\n') }],
      ['exists:/etc/x', true],
    ]);
    const chmodded = plan(file('/etc/x', { mode: '0600' }), { 'file:/etc/x': regular('a\n', '0644') });
    expect(chmodded?.predicts?.[0]?.value).toEqual({ ...regular('a\n', '0600') });
    const made = plan(directory('/srv/d', { mode: '0750' }), { 'file:/srv/d': absent });
    expect(made?.predicts?.[0]?.value).toEqual({ exists: true, type: 'directory', mode: '0750' });
    expect(plan(file('/f', { state: 'absent' }), { 'file:/f': regular('x') })?.predicts?.map((p) => p.value)).toEqual([{ exists: false }, { exists: false }, false]);
  });

  it('file: large content, or content with a NUL byte, goes through stdin', () => {
    const big = 'x'.repeat(64 * 1024 + 1);
    expect(plan(file('/srv/big', { content: big }), { 'file+sha256:/srv/big': absent })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0644_STDIN, 'pcc-write', '/srv/big'], stdin: big },
    ]);
    expect(plan(file('/srv/nul', { content: 'a\0b', mode: '0755' }), { 'file+sha256:/srv/nul': absent })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0755_STDIN, 'pcc-write', '/srv/nul', '0755'], stdin: 'a\0b' },
    ]);
  });

  it('file: a mode with execute bits is set by chmod before the rename', () => {
    expect(plan(file('/usr/local/bin/x', { content: '#!/bin/sh\n', mode: '0755' }), { 'file+sha256:/usr/local/bin/x': absent })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0755, 'pcc-write', '/usr/local/bin/x', '0755', '#!/bin/sh\n'] },
    ]);
  });

  it('file: a mode alone on an existing file; absent removes', () => {
    expect(plan(file('/f', { mode: '600' }), { 'file:/f': regular('x') })?.commands).toEqual([{ argv: ['chmod', '0600', '/f'] }]);
    expect(plan(file('/f', { state: 'absent' }), { 'file:/f': regular('x') })?.commands).toEqual([{ argv: ['rm', '-f', '/f'] }]);
    expect(plan(file('/f', { state: 'absent' }), { 'file:/f': absent })).toBeUndefined();
  });

  it('line-in-file replaces the last match or appends, and keeps the mode', () => {
    const op = lineInFile('/etc/env', { line: 'REGISTRY_HOST=r:5000', match: /^REGISTRY_HOST=/ });
    expect(plan(op, { 'file:/etc/env': absent })?.commands).toEqual([{ argv: ['sh', '-c', WRITE_0644, 'pcc-write', '/etc/env', 'REGISTRY_HOST=r:5000\n'] }]);
    expect(plan(op, { 'file:/etc/env': regular('A=1\nREGISTRY_HOST=old\n', '0640') })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0640, 'pcc-write', '/etc/env', 'A=1\nREGISTRY_HOST=r:5000\n'] },
    ]);
    expect(plan(op, { 'file:/etc/env': regular('REGISTRY_HOST=r:5000\n') })).toBeUndefined();
  });

  it('block-in-file replaces between its markers', () => {
    const op = blockInFile('/etc/hosts', { block: '10.0.0.1 init\n10.0.0.2 a' });
    const before = '127.0.0.1 localhost\n# BEGIN PCC MANAGED BLOCK\nold\n# END PCC MANAGED BLOCK\n::1 x\n';
    expect(plan(op, { 'file:/etc/hosts': regular(before) })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0644, 'pcc-write', '/etc/hosts', '127.0.0.1 localhost\n# BEGIN PCC MANAGED BLOCK\n10.0.0.1 init\n10.0.0.2 a\n# END PCC MANAGED BLOCK\n::1 x\n'] },
    ]);
  });

  it('template renders strictly: a missing variable is a one-line error naming the template', () => {
    const op = template('/etc/u', { source: 'name={{name}}\n', vars: { name: 'h1' } });
    expect(plan(op, { 'file+sha256:/etc/u': absent })?.commands).toEqual([{ argv: ['sh', '-c', WRITE_0644, 'pcc-write', '/etc/u', 'name=h1\n'] }]);
    expect(() => template('/etc/u', { source: 'a\n {{managed.by}}', vars: { managed: {} }, origin: 'templates/u.hbs' })).toThrow(
      "templates/u.hbs:2: variable 'managed.by' is not defined; pass it in vars or fix the template",
    );
    expect(() => template('/etc/u', { source: '{{nope}}', vars: {} })).toThrow("template for /etc/u:1: variable 'nope' is not defined; pass it in vars or fix the template");
    expect(() => template('/etc/u', { source: 'x\n{{#if a}}', vars: {}, origin: 't.hbs' })).toThrow(/^t\.hbs:2: cannot parse the template: /);
  });

  it('command with creates / unless / onlyIf', () => {
    const op = command('dd if=/dev/zero of=/x bs=1k count=1', { creates: '/x' });
    expect(plan(op, { 'exists:/x': false })?.commands).toEqual([{ argv: ['sh', '-c', 'dd if=/dev/zero of=/x bs=1k count=1'], env: undefined }]);
    expect(plan(op, { 'exists:/x': true })).toBeUndefined();
    const guarded = command(['systemctl', 'restart', 'a'], { unless: 'test -f /ok' });
    expect(plan(guarded, { 'succeeds:test -f /ok': true })).toBeUndefined();
    expect(plan(guarded, { 'succeeds:test -f /ok': false })?.commands).toEqual([{ argv: ['systemctl', 'restart', 'a'], env: undefined }]);
  });

  it('systemd unit: reload and restart only when the unit changed', () => {
    const op = systemdUnit('pcc.service', { content: '[Service]\n' });
    const path = '/etc/systemd/system/pcc.service';
    expect(plan(op, { [`file+sha256:${path}`]: absent, 'unit:pcc.service': { enabled: false, active: false } })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0644, 'pcc-write', path, '[Service]\n'] },
      { argv: ['systemctl', 'daemon-reload'] },
      { argv: ['systemctl', 'enable', 'pcc.service'] },
      { argv: ['systemctl', 'start', 'pcc.service'] },
    ]);
    expect(plan(op, { [`file+sha256:${path}`]: regular('[Service]\n'), 'unit:pcc.service': { enabled: true, active: true } })).toBeUndefined();
    expect(plan(op, { [`file+sha256:${path}`]: regular('old\n'), 'unit:pcc.service': { enabled: true, active: true } })?.commands).toEqual([
      { argv: ['sh', '-c', WRITE_0644, 'pcc-write', path, '[Service]\n'] },
      { argv: ['systemctl', 'daemon-reload'] },
      { argv: ['systemctl', 'restart', 'pcc.service'] },
    ]);
  });

  it('service: enable and start, restart only after a change it depends on', () => {
    const conf = file('/etc/docker/daemon.json', { content: '{}' });
    const op = service('docker.service', { restartAfter: [conf] });
    expect(plan(op, { 'unit:docker.service': { enabled: false, active: false } })?.commands).toEqual([
      { argv: ['systemctl', 'enable', 'docker.service'] },
      { argv: ['systemctl', 'start', 'docker.service'] },
    ]);
    expect(plan(op, { 'unit:docker.service': { enabled: true, active: true } })).toBeUndefined();
    expect(plan(op, { 'unit:docker.service': { enabled: true, active: true } }, [conf])?.commands).toEqual([
      { argv: ['systemctl', 'restart', 'docker.service'] },
    ]);
  });

  it('packages: apt on Debian, nothing on Flatcar', () => {
    const op = packages(['docker.io', 'nfs-common']);
    const debian = { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian' };
    expect(plan(op, { 'os-release': debian, 'dpkg:docker.io,nfs-common': { 'docker.io': true, 'nfs-common': false } })?.commands).toEqual([
      {
        argv: ['sh', '-c', 'apt-get install -y -q --no-install-recommends nfs-common || { apt-get update -q && apt-get install -y -q --no-install-recommends nfs-common; }'],
        env: { DEBIAN_FRONTEND: 'noninteractive' },
      },
    ]);
    const flatcar = { id: 'flatcar', idLike: [], versionId: '4081', prettyName: 'Flatcar' };
    expect(plan(op, { 'os-release': flatcar, 'dpkg:docker.io,nfs-common': {} })).toBeUndefined();
  });
});

describe('operations as the script text a host runs', () => {
  it('a unit written, reloaded, enabled and started, then a package installed: each op one group, its exit code after a marker, the first failure ends the script', () => {
    const unit = plan(systemdUnit('pcc.service', { content: '[Service]\n' }), {
      'file+sha256:/etc/systemd/system/pcc.service': absent,
      'unit:pcc.service': { enabled: false, active: false, masked: false },
    })!;
    const pkg = plan(packages(['nfs-common']), {
      'os-release': { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian' },
      'dpkg:nfs-common': { 'nfs-common': false },
    })!;
    expect(renderApplyScript([unit, pkg], '@@pcc-1')).toBe(
      `{ (set -- /etc/systemd/system/pcc.service '[Service]\n'; { [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && umask 0133 && printf '%s' "$2" > "$1.pcc-new" && mv -f "$1.pcc-new" "$1"\n) </dev/null && systemctl daemon-reload </dev/null && systemctl enable pcc.service </dev/null && systemctl start pcc.service </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-1 op 0' "$__pcc_rc"; [ "$__pcc_rc" -eq 0 ] || exit 0\n` +
        `{ DEBIAN_FRONTEND=noninteractive sh -c 'apt-get install -y -q --no-install-recommends nfs-common || { apt-get update -q && apt-get install -y -q --no-install-recommends nfs-common; }' </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-1 op 1' "$__pcc_rc"; [ "$__pcc_rc" -eq 0 ] || exit 0`,
    );
  });

  it('a check changes nothing, and refuses with its reason when the host is not as expected', () => {
    const op = check('docker nvidia runtime registered', { succeeds: 'docker info | grep -q nvidia', otherwise: 'docker has no nvidia runtime' });
    expect([op.touches, op.facts.map((f) => f.key)]).toEqual([[], ['succeeds:docker info | grep -q nvidia']]);
    expect(plan(op, { 'succeeds:docker info | grep -q nvidia': true })).toBeUndefined();
    expect(() => plan(op, { 'succeeds:docker info | grep -q nvidia': false })).toThrow(new OperationRefusedError('docker has no nvidia runtime'));
  });

  it('a masked unit is refused with the fix, not enabled (systemd would refuse it on the host)', () => {
    const masked = { enabled: false, active: false, masked: true };
    expect(() => plan(service('nfs-server.service'), { 'unit:nfs-server.service': masked })).toThrow(
      new OperationRefusedError('nfs-server.service is masked, so systemd will not start it; unmask it (systemctl unmask nfs-server.service) first'),
    );
    expect(plan(service('nfs-server.service', { enabled: false, state: 'stopped' }), { 'unit:nfs-server.service': masked })).toBeUndefined();
  });
});

describe('shell rendering', () => {
  it('quotes every word, carries stdin as a quoted word (base64 when it holds NUL), and inlines sh -c', () => {
    expect(renderCommand({ argv: ['echo', "it's", 'a b'] })).toBe(`echo 'it'\\''s' 'a b' </dev/null`);
    expect(renderCommand({ argv: ['cat'], stdin: "x'\n" })).toBe(`printf '%s' 'x'\\''\n' | cat`);
    expect(renderCommand({ argv: ['cat'], stdin: 'a\0b' })).toBe(`printf '%s' YQBi | base64 -d | cat`);
    expect(renderCommand({ argv: ['sh', '-c', 'cat > "$1"', 'pcc-write', '/a b'], stdin: 'x' })).toBe(`printf '%s' x | (set -- '/a b'; cat > "$1"\n)`);
    expect(renderCommand({ argv: ['sh', '-c', 'echo $0'] })).toBe(`sh -c 'echo $0' </dev/null`);
    expect(renderCommand({ argv: ['apt-get', 'install'], env: { DEBIAN_FRONTEND: 'noninteractive' } })).toBe(
      'DEBIAN_FRONTEND=noninteractive apt-get install </dev/null',
    );
  });

  it('parses stat output of a file fact', () => {
    expect(parseFileState('regular file|600|root|root|4\nb64:YWJjCg==\n')).toEqual({
      exists: true,
      type: 'file',
      mode: '0600',
      owner: 'root',
      group: 'root',
      size: 4,
      content: Buffer.from('abc\n'),
    });
    expect(parseFileState('absent\n')).toEqual({ exists: false });
  });
});

describe('blockInFile markers, as Ansible writes them', () => {
  it('a {mark} template, whole-line markers, and Ansible placement rules', async () => {
    const { withBlock } = await import('../../../src/ops/edit.js');
    const ansible = { marker: '# {mark} ANSIBLE MANAGED BLOCK' };
    // A last line without a newline gets one before the block; the block ends with one.
    expect(withBlock('a\nb', { ...ansible, block: 'x' })).toBe('a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n');
    // The last begin and end lines are the block, in either order, as in Ansible; it is replaced where it stands.
    expect(withBlock('a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nb\n', { ...ansible, block: 'new\n' })).toBe('a\n# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\nb\n');
    expect(withBlock('# END ANSIBLE MANAGED BLOCK\nkeep\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n', { ...ansible, block: 'new\n' })).toBe('# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\nold\n');
    // An empty block removes block and markers.
    expect(withBlock('a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\n', { ...ansible, block: '' })).toBe('a\nb\n');
    expect(withBlock('', { block: 'x', markerBegin: '-- pcc {', markerEnd: '-- pcc }' })).toBe('-- pcc {\nx\n-- pcc }\n');
    expect(withBlock('', { block: 'x', marker: 'dns' })).toBe('# BEGIN PCC MANAGED BLOCK dns\nx\n# END PCC MANAGED BLOCK dns\n');
    expect(() => withBlock('', { block: 'x', markerBegin: 'only' })).toThrow('blockInFile: give markerBegin and markerEnd together, or use marker');
  });

  it('file with only a mode refuses a missing file unless create is set', () => {
    const op = file('/etc/x', { mode: '0600' });
    expect(() => plan(op, { 'file:/etc/x': { exists: false } })).toThrow('/etc/x does not exist, and only its mode or owner is given; give content, or create: true for an empty file');
    expect(plan(file('/etc/x', { mode: '0600', create: true }), { 'file:/etc/x': { exists: false } })?.summary).toBe('create');
  });
});
