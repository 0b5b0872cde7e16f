import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockDevice, parseBlockDevice, type BlockDevice, type BlockDeviceMatch } from '../../../src/facts/block-device.js';
import type { Fact } from '../../../src/facts/fact.js';
import type { FileState } from '../../../src/facts/files.js';
import { filesystem, MKFS_SCRIPT, mountDevice, mountUnitName, systemdEscapePath } from '../../../src/ops/mount.js';
import type { FactReader, Operation } from '../../../src/ops/operation.js';

/** Plans an op against facts given by key, as the runner would after a round trip. */
function plan(op: Operation, facts: Record<string, unknown>, changed: Operation[] = []) {
  return op.plan((<T>(f: Fact<T>) => {
    if (!(f.key in facts)) throw new Error(`missing fact ${f.key}`);
    return facts[f.key] as T;
  }) as FactReader, { changed: (o) => changed.includes(o) });
}

const recorded = (name: string): { match: BlockDeviceMatch; device: BlockDevice } => {
  const f = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/volumes', name), 'utf8'));
  return { match: f.match, device: parseBlockDevice(f.output, f.match) };
};
const UUID = '1be27088-edc7-510c-8a5b-c852167fc57a';
const fsOptions = { type: 'ext4' as const, label: 'pcc-data', uuid: UUID };
const absent: FileState = { exists: false };
const regular = (content: string): FileState => ({ exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', size: content.length, content: Buffer.from(content) });
const fresh = '{ [ ! -e "$1.pcc-new" ] && [ ! -L "$1.pcc-new" ] || rm -f "$1.pcc-new"; } && ';
const write = (p: string, content: string) => ({ argv: ['sh', '-c', `${fresh}umask 0133 && printf '%s' "$2" > "$1.pcc-new" && mv -f "$1.pcc-new" "$1"`, 'pcc-write', p, content] });

const UNIT_TEXT = [
  '[Unit]',
  'Description=volume data (vol-0123456789abcdef0) at /data',
  'Before=docker.service',
  '',
  '[Mount]',
  `What=/dev/disk/by-uuid/${UUID}`,
  'Where=/data',
  'Type=ext4',
  'Options=nofail',
  '',
  '[Install]',
  'WantedBy=multi-user.target',
  '',
].join('\n');

describe('the data-volume ops, by exact script (EBS device: fixture, no block device here)', () => {
  const blank = recorded('composed-nitro-blank.json');
  const mounted = recorded('composed-nitro-mounted.json');
  const dev = (d: BlockDevice) => ({ [blockDevice(blank.match).key]: d });

  it('filesystem: a blank disk gets mkfs.ext4 with the label and the chosen UUID, through a script that asks blkid again first', () => {
    const change = plan(filesystem(blank.match, fsOptions), dev(blank.device));
    expect(change?.commands).toEqual([{ argv: ['sh', '-c', MKFS_SCRIPT, 'pcc-mkfs', '/dev/nvme1n1', 'pcc-data', UUID] }]);
    expect(MKFS_SCRIPT).toBe(
      'd="$1"; head -c 4096 -- "$d" >/dev/null || exit 1; blkid -p -- "$d" >/dev/null; r=$?; ' +
        'if [ "$r" != 2 ]; then echo "$d is not blank (blkid -p exit $r); pcc formats only blank disks" >&2; exit 1; fi; ' +
        'mkfs.ext4 -q -L "$2" -U "$3" -- "$d"',
    );
    expect(change?.summary).toBe('mkfs.ext4 /dev/nvme1n1 (blank)');
    // What the mount then plans with, in the same run, before the host is asked again.
    expect(change?.predicts?.map((p) => [p.fact.key, p.value])).toEqual([
      [blockDevice(blank.match).key, { path: '/dev/nvme1n1', foundBy: 'serial', content: { kind: 'filesystem', type: 'ext4', uuid: UUID, label: 'pcc-data' } }],
    ]);
  });

  it('filesystem: never formats a disk that holds anything', () => {
    expect(plan(filesystem(mounted.match, fsOptions), dev(mounted.device))).toBeUndefined();
    // A filesystem someone else made (another UUID) is kept as it is, too.
    const theirs = { ...mounted.device, content: { kind: 'filesystem' as const, type: 'xfs', uuid: '5f1c2e3d-4b5a-6978-8a9b-0c1d2e3f4a5b' } };
    expect(plan(filesystem(mounted.match, fsOptions), dev(theirs))).toBeUndefined();
    const parts = recorded('composed-nitro-partitioned.json');
    expect(() => plan(filesystem(parts.match, fsOptions), dev(parts.device))).toThrow(
      '/dev/nvme1n1 holds a gpt partition table, not a filesystem pcc mounts, and pcc formats only blank disks; mount it yourself, or wipe it (wipefs -a /dev/nvme1n1) if nothing on it is needed',
    );
    const unreadable = recorded('captured-root-unreadable.json');
    expect(() => plan(filesystem(unreadable.match, fsOptions), { [blockDevice(unreadable.match).key]: unreadable.device })).toThrow(
      '/dev/vda: it cannot be read, so whether it is blank is unknown and nothing is formatted; install util-linux (blkid) or check the disk',
    );
  });

  it('a volume that is not (yet) a disk on the host: one line naming the volume and where it was looked for', () => {
    const none = recorded('captured-no-volume.json');
    const op = filesystem(none.match, fsOptions);
    expect(op.name).toBe('filesystem on volume data (vol-0123456789abcdef0)');
    expect(() => plan(op, { [blockDevice(none.match).key]: none.device })).toThrow(
      'not attached here as a disk: no serial vol0123456789abcdef0, no /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0, no /dev/xvdf, no /dev/sdf; if it was attached just now, run again in a minute',
    );
    expect(() => plan(mountDevice(none.match, '/data'), { [blockDevice(none.match).key]: none.device, 'file+sha256:/etc/systemd/system/data.mount': absent, 'unit:data.mount': { enabled: false, active: false } })).toThrow(/^not attached here as a disk/);
  });

  it('mountDevice: writes the mount unit by UUID (nofail, before docker), reloads, enables and starts it', () => {
    const facts = { ...dev(mounted.device), 'file+sha256:/etc/systemd/system/data.mount': absent, 'unit:data.mount': { enabled: false, active: false } };
    const unmounted = { ...mounted.device, mountpoint: undefined };
    const change = plan(mountDevice(mounted.match, '/data', { before: ['docker.service'] }), { ...facts, ...dev(unmounted) });
    expect(change?.commands).toEqual([
      write('/etc/systemd/system/data.mount', UNIT_TEXT),
      { argv: ['systemctl', 'daemon-reload'] },
      { argv: ['systemctl', 'enable', 'data.mount'] },
      { argv: ['systemctl', 'start', 'data.mount'] },
    ]);
  });

  it('a re-run on a formatted, mounted volume changes nothing (changed=0)', () => {
    const facts = { ...dev(mounted.device), 'file+sha256:/etc/systemd/system/data.mount': regular(UNIT_TEXT), 'unit:data.mount': { enabled: true, active: true } };
    expect(plan(filesystem(mounted.match, fsOptions), facts)).toBeUndefined();
    expect(plan(mountDevice(mounted.match, '/data', { before: ['docker.service'] }), facts)).toBeUndefined();
  });

  it('mountDevice refuses a disk without a filesystem, or one mounted somewhere else', () => {
    const facts = { 'file+sha256:/etc/systemd/system/data.mount': absent, 'unit:data.mount': { enabled: false, active: false } };
    expect(() => plan(mountDevice(blank.match, '/data'), { ...facts, ...dev(blank.device) })).toThrow('/dev/nvme1n1 has no filesystem to mount; format it first (ops.filesystem)');
    expect(() => plan(mountDevice(mounted.match, '/data'), { ...facts, ...dev({ ...mounted.device, mountpoint: '/mnt' }) })).toThrow(
      '/dev/nvme1n1 is mounted at /mnt, not /data; unmount it there first',
    );
  });

  it('the unit name is systemd-escape --path of the mount point (expected values from systemd 252 here)', () => {
    const real: Record<string, string> = {
      '/data': 'data',
      '/srv/kept': 'srv-kept',
      '/data-1': 'data\\x2d1',
      '/mnt/my_vol.2': 'mnt-my_vol.2',
      '/.hidden': '\\x2ehidden',
      '/data/': 'data',
      '/a//b': 'a-b',
      '/work@home': 'work\\x40home',
      '/x+y': 'x\\x2by',
      '/dätä': 'd\\xc3\\xa4t\\xc3\\xa4',
      '/': '-',
    };
    for (const [p, escaped] of Object.entries(real)) expect(systemdEscapePath(p), p).toBe(escaped);
    expect(mountUnitName('/srv/kept')).toBe('srv-kept.mount');
  });

  it('a label longer than ext4 holds, or a UUID that is not one, is refused when the op is built', () => {
    expect(() => filesystem(blank.match, { ...fsOptions, label: 'pcc-a-very-long-name' })).toThrow("filesystem label 'pcc-a-very-long-name' is longer than ext4's 16 bytes");
    expect(() => filesystem(blank.match, { ...fsOptions, uuid: 'nope' })).toThrow("filesystem UUID 'nope' is not a lower-case UUID");
  });
});
