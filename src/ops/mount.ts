import { blockDevice, type BlockDevice, type BlockDeviceMatch } from '../facts/block-device.js';
import { SYSTEM, type Operation } from './operation.js';
import { systemdUnit } from './systemd.js';

/**
 * A data disk made usable: `filesystem` formats it only while it is blank,
 * and `mountDevice` mounts it by its filesystem's UUID with a systemd mount
 * unit (Flatcar discourages /etc/fstab; a unit also comes back on boot).
 * Both find the disk through the `blockDevice` fact.
 */

export interface FilesystemOptions {
  /** ext4 only for now: what pcc formats with, and on every image it supports. */
  type: 'ext4';
  /** The filesystem label (ext4: at most 16 bytes). */
  label: string;
  /**
   * The filesystem's UUID, chosen beforehand, so that the mount unit written
   * in the same run (before the host could be asked) names the right one.
   */
  uuid: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The exact script that formats a blank disk. It asks blkid again right
 * before mkfs, so a disk that gained a signature since the facts were read
 * (or that a stale plan calls blank) is never formatted: data on a volume
 * outlives every host.
 */
export const MKFS_SCRIPT = [
  'd="$1"',
  'head -c 4096 -- "$d" >/dev/null || exit 1',
  'blkid -p -- "$d" >/dev/null; r=$?',
  'if [ "$r" != 2 ]; then echo "$d is not blank (blkid -p exit $r); pcc formats only blank disks" >&2; exit 1; fi',
  'mkfs.ext4 -q -L "$2" -U "$3" -- "$d"',
].join('; ');

/** Formats the disk when it holds nothing at all; a disk with any signature is left alone or refused, never reformatted. */
export function filesystem(match: BlockDeviceMatch, options: FilesystemOptions): Operation {
  if (Buffer.byteLength(options.label) > 16) throw new Error(`filesystem label '${options.label}' is longer than ext4's 16 bytes`);
  if (!UUID.test(options.uuid)) throw new Error(`filesystem UUID '${options.uuid}' is not a lower-case UUID`);
  const device = blockDevice(match);
  return {
    name: `filesystem on ${match.what}`,
    facts: [device],
    touches: [SYSTEM],
    plan(read) {
      const dev = present(match, read(device));
      switch (dev.content.kind) {
        case 'filesystem':
          return undefined;
        case 'blank':
          return {
            commands: [{ argv: ['sh', '-c', MKFS_SCRIPT, 'pcc-mkfs', dev.path, options.label, options.uuid] }],
            summary: `mkfs.ext4 ${dev.path} (blank)`,
            predicts: [{ fact: device, value: { ...dev, content: { kind: 'filesystem', type: options.type, uuid: options.uuid, label: options.label } } }],
          };
        case 'other':
          throw new Error(
            `${dev.path} holds ${dev.content.what}, not a filesystem pcc mounts, and pcc formats only blank disks; mount it yourself, or wipe it (wipefs -a ${dev.path}) if nothing on it is needed`,
          );
        case 'unknown':
          throw new Error(`${dev.path}: ${dev.content.why}, so whether it is blank is unknown and nothing is formatted; install util-linux (blkid) or check the disk`);
      }
    },
  };
}

/** A found disk, or one line saying where it was looked for. */
function present(match: BlockDeviceMatch, dev: BlockDevice): BlockDevice & { path: string } {
  if (dev.path) return dev as BlockDevice & { path: string };
  const looked = [
    ...(match.serial ? [`serial ${match.serial}`] : []),
    ...match.byId.map((l) => `/dev/disk/by-id/${l}`),
    ...match.names.map((n) => `/dev/${n}`),
  ];
  throw new Error(`not attached here as a disk: no ${looked.join(', no ')}; if it was attached just now, run again in a minute`);
}

export interface MountOptions {
  /** Mount options; `nofail` is always there, so a missing disk never holds up the boot. */
  options?: readonly string[];
  /** Units that start only after the mount (docker.service: containers binding the mount point see the disk, not the empty directory under it). */
  before?: readonly string[];
}

/**
 * `systemd-escape --path`: the name a mount unit for this path must have.
 * Slashes become dashes; every byte outside [A-Za-z0-9:_.], a leading dot
 * included, becomes `\xNN`.
 */
export function systemdEscapePath(path: string): string {
  const trimmed = path.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  if (trimmed === '') return '-';
  let out = '';
  const bytes = Buffer.from(trimmed);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const c = String.fromCharCode(b);
    if (c === '/') out += '-';
    else if ((i === 0 && c === '.') || !/[A-Za-z0-9:_.]/.test(c) || b > 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return out;
}

export function mountUnitName(where: string): string {
  return `${systemdEscapePath(where)}.mount`;
}

export function mountUnitText(fs: { what: string; uuid: string; type: string }, where: string, options: MountOptions = {}): string {
  const opts = ['nofail', ...(options.options ?? []).filter((o) => o !== 'nofail')];
  return [
    '[Unit]',
    `Description=${fs.what} at ${where}`,
    ...(options.before?.length ? [`Before=${options.before.join(' ')}`] : []),
    '',
    '[Mount]',
    `What=/dev/disk/by-uuid/${fs.uuid}`,
    `Where=${where}`,
    `Type=${fs.type}`,
    `Options=${opts.join(',')}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * Mounts the disk's filesystem at `where` by UUID, enabled so it is mounted
 * again at boot. The unit's content follows the filesystem the disk holds
 * (or will hold, when `filesystem` formats it earlier in the same run).
 */
export function mountDevice(match: BlockDeviceMatch, where: string, options: MountOptions = {}): Operation {
  const device = blockDevice(match);
  const unit = mountUnitName(where);
  const shape = systemdUnit(unit, { content: '' });
  return {
    name: `mount ${match.what} at ${where}`,
    facts: [device, ...shape.facts],
    touches: shape.touches,
    plan(read, earlier) {
      const dev = present(match, read(device));
      if (dev.content.kind !== 'filesystem') throw new Error(`${dev.path} has no filesystem to mount; format it first (ops.filesystem)`);
      if (dev.mountpoint && dev.mountpoint !== where) throw new Error(`${dev.path} is mounted at ${dev.mountpoint}, not ${where}; unmount it there first`);
      const content = mountUnitText({ what: match.what, uuid: dev.content.uuid, type: dev.content.type }, where, options);
      return systemdUnit(unit, { content, enabled: true, state: 'started' }).plan(read, earlier);
    },
  };
}
