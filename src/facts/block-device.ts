import { defineFact, type Fact } from './fact.js';

/**
 * Finding one attached disk (a data volume) among a host's block devices,
 * and what a low-level probe finds on it. How a volume shows up is the
 * provider's knowledge (an EBS volume on Nitro: an NVMe disk whose serial is
 * the volume id without the dash; on Xen: `/dev/sdf` as `xvdf`), handed in as
 * a `BlockDeviceMatch`; the fact itself knows no cloud.
 */
export interface BlockDeviceMatch {
  /** What people call it, for messages: `volume data (vol-0123abcd)`. */
  what: string;
  /** The disk's serial as lsblk reports it (trimmed). */
  serial?: string;
  /** Names of links in /dev/disk/by-id that udev makes for it. */
  byId: readonly string[];
  /** Kernel names it may have instead (`xvdf`, `sdf`), tried last: they say nothing about which volume it is. */
  names: readonly string[];
}

/** What `blkid -p` (which reads the device itself, not udev's cache) found on it. */
export type DeviceContent =
  | { kind: 'blank' }
  | { kind: 'filesystem'; type: string; uuid: string; label?: string }
  /** A partition table, RAID or LUKS member, swap, or a filesystem without a UUID: nothing pcc formats or mounts. */
  | { kind: 'other'; what: string }
  /** The probe could not tell (no blkid, an unreadable device): never taken for blank. */
  | { kind: 'unknown'; why: string };

export interface BlockDevice {
  /** The device node (`/dev/nvme1n1`); absent when the host has no such disk. */
  path?: string;
  /** How it was found. */
  foundBy?: 'serial' | 'by-id' | 'name';
  content: DeviceContent;
  /** Where it is mounted now, per lsblk (which reads the mount table). */
  mountpoint?: string;
}

/**
 * One round trip: lsblk's tree as JSON (names, serials, mount points), the
 * /dev/disk/by-id links resolved, and `blkid -p -o export` of every whole
 * disk with a size (`/sys/block`). lsblk's FSTYPE and UUID come from udev's
 * database, which lags a fresh mkfs and is empty where no udev runs, so
 * whether a disk is blank is asked of blkid's probe alone.
 */
export const BLOCK_DEVICE_SCRIPT = [
  "printf '== lsblk\\n'",
  'lsblk -J -o NAME,SERIAL,TYPE,FSTYPE,UUID,MOUNTPOINT 2>/dev/null',
  "printf '== by-id\\n'",
  'for l in /dev/disk/by-id/*; do [ -L "$l" ] && printf \'%s %s\\n\' "${l##*/}" "$(readlink -f -- "$l")"; done',
  'for b in /sys/block/*; do d="/dev/${b##*/}"; [ -b "$d" ] && [ "$(cat "$b/size" 2>/dev/null)" != 0 ] || continue; ' +
    // blkid -p exits 2 both for "nothing found" and for a disk it could not open: a disk is probed only once a read of it worked.
    'o=; if ! head -c 4096 -- "$d" >/dev/null 2>&1; then r=unreadable; elif command -v blkid >/dev/null 2>&1; then o=$(blkid -p -o export -- "$d" 2>/dev/null); r=$?; else r=none; fi; ' +
    "printf '== probe %s %s\\n' \"$d\" \"$r\"; [ -z \"$o\" ] || printf '%s\\n' \"$o\"; done",
  'true',
].join('\n');

export function blockDevice(match: BlockDeviceMatch): Fact<BlockDevice> {
  return defineFact({
    key: `block-device:${match.serial ?? ''}:${match.byId.join(',')}:${match.names.join(',')}`,
    script: BLOCK_DEVICE_SCRIPT,
    parse: (out) => parseBlockDevice(out, match),
  });
}

interface LsblkNode {
  name?: string;
  serial?: string | null;
  type?: string;
  mountpoint?: string | null;
  children?: LsblkNode[];
}

interface Sections {
  lsblk: LsblkNode[];
  byId: Map<string, string>;
  probes: Map<string, { rc: string; vars: Record<string, string> }>;
}

function sections(out: string): Sections {
  const byId = new Map<string, string>();
  const probes = new Map<string, { rc: string; vars: Record<string, string> }>();
  let lsblkText = '';
  let where: 'none' | 'lsblk' | 'by-id' | 'probe' = 'none';
  let probe: { rc: string; vars: Record<string, string> } | undefined;
  for (const line of out.split('\n')) {
    if (line === '== lsblk') where = 'lsblk';
    else if (line === '== by-id') where = 'by-id';
    else if (line.startsWith('== probe ')) {
      const [, device, rc] = /^== probe (\S+) (\S+)$/.exec(line) ?? [];
      if (!device) continue;
      probe = { rc: rc!, vars: {} };
      probes.set(device, probe);
      where = 'probe';
    } else if (where === 'lsblk') lsblkText += `${line}\n`;
    else if (where === 'by-id') {
      const [, link, target] = /^(\S+) (\/\S+)$/.exec(line) ?? [];
      if (link) byId.set(link, target!);
    } else if (where === 'probe' && probe) {
      const kv = /^([A-Z_]+)=(.*)$/.exec(line);
      if (kv) probe.vars[kv[1]!] = kv[2]!;
    }
  }
  let lsblk: LsblkNode[] = [];
  try {
    lsblk = (JSON.parse(lsblkText) as { blockdevices?: LsblkNode[] }).blockdevices ?? [];
  } catch {
    // No lsblk (or not one that speaks JSON): by-id and the names still find the disk.
  }
  return { lsblk, byId, probes };
}

/** Finds the disk and says what is on it; pure, so recorded outputs test it. */
export function parseBlockDevice(out: string, match: BlockDeviceMatch): BlockDevice {
  const s = sections(out);
  const disks = s.lsblk.filter((d) => d.name);
  const bySerial = match.serial ? disks.find((d) => (d.serial ?? '').trim() === match.serial) : undefined;
  const link = match.byId.map((l) => s.byId.get(l)).find((t) => t !== undefined);
  const named = match.names.find((n) => disks.some((d) => d.name === n) || s.probes.has(`/dev/${n}`));
  const found: Pick<BlockDevice, 'path' | 'foundBy'> | undefined = bySerial
    ? { path: `/dev/${bySerial.name}`, foundBy: 'serial' }
    : link
      ? { path: link, foundBy: 'by-id' }
      : named
        ? { path: `/dev/${named}`, foundBy: 'name' }
        : undefined;
  if (!found) return { content: { kind: 'unknown', why: 'no such device' } };
  const node = disks.find((d) => `/dev/${d.name}` === found.path);
  const mountpoint = node?.mountpoint ?? undefined;
  return { ...found, content: probed(s.probes.get(found.path!), node), ...(mountpoint ? { mountpoint } : {}) };
}

/** blkid -p on a readable disk: exit 0 found something, 2 found nothing; anything else (or no probe) is not a "blank". */
function probed(p: { rc: string; vars: Record<string, string> } | undefined, node: LsblkNode | undefined): DeviceContent {
  if (!p) return { kind: 'unknown', why: 'it was not probed' };
  if (p.rc === 'none') return { kind: 'unknown', why: 'blkid is not installed' };
  if (p.rc === 'unreadable') return { kind: 'unknown', why: 'it cannot be read' };
  if (p.rc === '2') {
    // A disk with partitions that carry the data but no table blkid knows: not blank either.
    if (node?.children?.length) return { kind: 'other', what: `partitions (${node.children.map((c) => c.name).join(', ')})` };
    return { kind: 'blank' };
  }
  if (p.rc !== '0') return { kind: 'unknown', why: `blkid -p exited ${p.rc}` };
  const v = p.vars;
  if (v.PTTYPE) return { kind: 'other', what: `a ${v.PTTYPE} partition table` };
  if ((v.USAGE ?? 'filesystem') === 'filesystem' && v.TYPE && v.UUID) {
    return { kind: 'filesystem', type: v.TYPE, uuid: v.UUID, ...(v.LABEL ? { label: v.LABEL } : {}) };
  }
  return { kind: 'other', what: v.TYPE ? `${v.TYPE}${v.USAGE && v.USAGE !== 'filesystem' ? ` (${v.USAGE})` : ''}${v.UUID ? '' : ' without a UUID'}` : 'an unknown signature' };
}
