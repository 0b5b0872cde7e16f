import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLOCK_DEVICE_SCRIPT, parseBlockDevice, type BlockDevice, type BlockDeviceMatch } from '../../../src/facts/block-device.js';

// Fact outputs in test/fixtures/volumes/: which were captured here and which composed is in its README.
const DIR = path.join(import.meta.dirname, '../../fixtures/volumes');
interface Fixture {
  source: string;
  command: string;
  match: BlockDeviceMatch;
  output: string;
}
const fixture = (name: string): Fixture => JSON.parse(readFileSync(path.join(DIR, name), 'utf8'));
const parsed = (name: string): BlockDevice => {
  const f = fixture(name);
  return parseBlockDevice(f.output, f.match);
};
const UUID = '1be27088-edc7-510c-8a5b-c852167fc57a';

describe('the block-device fact on recorded outputs (captured on loop devices here; EBS: composed)', () => {
  it('every fixture was made with the script the fact sends now', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const f of files) expect(fixture(f).command, f).toBe(BLOCK_DEVICE_SCRIPT);
  });

  it('captured: a blank loop device is found by its name and blkid -p finds nothing on it', () => {
    expect(parsed('captured-loop-blank.json')).toEqual({ path: '/dev/loop0', foundBy: 'name', content: { kind: 'blank' } });
  });

  it("captured: after pcc's mkfs script the probe reads ext4 with pcc's label and UUID (lsblk, without udev, still says null)", () => {
    expect(parsed('captured-loop-ext4.json')).toEqual({
      path: '/dev/loop0',
      foundBy: 'name',
      content: { kind: 'filesystem', type: 'ext4', uuid: UUID, label: 'pcc-capture' },
    });
    expect(fixture('captured-loop-ext4.json').output).toMatch(/"name": "loop0",\n\s+"serial": null,\n\s+"type": "loop",\n\s+"fstype": null,\n\s+"uuid": null/);
  });

  it('captured: mounted, the mount point comes from lsblk', () => {
    expect(parsed('captured-loop-mounted.json')).toMatchObject({ path: '/dev/loop0', mountpoint: '/data', content: { kind: 'filesystem', uuid: UUID } });
  });

  it('captured: swap is a signature but not a filesystem pcc mounts', () => {
    expect(parsed('captured-loop-swap.json').content).toEqual({ kind: 'other', what: 'swap (other)' });
  });

  it('captured: a disk that cannot be read is not taken for blank, though blkid -p exits 2 on it as on a blank one', () => {
    expect(parsed('captured-root-unreadable.json')).toEqual({ path: '/dev/vda', foundBy: 'name', mountpoint: '/', content: { kind: 'unknown', why: 'it cannot be read' } });
  });

  it('captured: a machine without the volume has no such device', () => {
    expect(parsed('captured-no-volume.json')).toEqual({ content: { kind: 'unknown', why: 'no such device' } });
  });

  it('composed Nitro: the EBS volume is the NVMe disk with its id as serial, not the root disk; blank', () => {
    expect(parsed('composed-nitro-blank.json')).toEqual({ path: '/dev/nvme1n1', foundBy: 'serial', content: { kind: 'blank' } });
  });

  it('composed Nitro: formatted by pcc and mounted at /data', () => {
    expect(parsed('composed-nitro-mounted.json')).toEqual({
      path: '/dev/nvme1n1',
      foundBy: 'serial',
      mountpoint: '/data',
      content: { kind: 'filesystem', type: 'ext4', uuid: UUID, label: 'pcc-data' },
    });
  });

  it('composed Nitro: a volume partitioned by hand is not blank', () => {
    expect(parsed('composed-nitro-partitioned.json').content).toEqual({ kind: 'other', what: 'a gpt partition table' });
  });

  it('composed Nitro without lsblk: the /dev/disk/by-id link finds it', () => {
    expect(parsed('composed-nitro-no-lsblk.json')).toEqual({ path: '/dev/nvme1n1', foundBy: 'by-id', content: { kind: 'blank' } });
  });

  it('composed Xen: /dev/sdf shows up as xvdf, found by name', () => {
    expect(parsed('composed-xen-blank.json')).toEqual({ path: '/dev/xvdf', foundBy: 'name', content: { kind: 'blank' } });
  });

  it('a disk blkid finds nothing on but lsblk shows partitions of is not blank; an odd exit or no blkid is unknown', () => {
    const match: BlockDeviceMatch = { what: 'x', byId: [], names: ['vdb'] };
    const lsblk = (children: string) => `== lsblk\n{"blockdevices":[{"name":"vdb","serial":null,"type":"disk","mountpoint":null${children}}]}\n== by-id\n`;
    expect(parseBlockDevice(`${lsblk(',"children":[{"name":"vdb1","type":"part"}]')}== probe /dev/vdb 2\n`, match).content).toEqual({ kind: 'other', what: 'partitions (vdb1)' });
    expect(parseBlockDevice(`${lsblk('')}== probe /dev/vdb 8\n`, match).content).toEqual({ kind: 'unknown', why: 'blkid -p exited 8' });
    expect(parseBlockDevice(`${lsblk('')}== probe /dev/vdb none\n`, match).content).toEqual({ kind: 'unknown', why: 'blkid is not installed' });
    expect(parseBlockDevice(`${lsblk('')}`, match).content).toEqual({ kind: 'unknown', why: 'it was not probed' });
    expect(parseBlockDevice(`${lsblk('')}== probe /dev/vdb 0\nTYPE=crypto_LUKS\nUSAGE=crypto\nUUID=u\n`, match).content).toEqual({ kind: 'other', what: 'crypto_LUKS (crypto)' });
  });
});
