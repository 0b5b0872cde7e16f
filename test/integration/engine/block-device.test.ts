import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockDeviceMatch } from '../../../src/facts/block-device.js';
import { filesystem, MKFS_SCRIPT, mountDevice, mountUnitName, mountUnitText, systemdEscapePath } from '../../../src/ops/mount.js';
import { definePlaybook, runPlaybook } from '../../../src/playbook/index.js';
import { Connection } from '../../../src/remote/connection.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/**
 * The data-volume ops on a real block device: a loop device on this machine,
 * reached through a real sshd host and pcc's runner. What cannot run here is
 * the EBS side (the NVMe serial, /dev/disk/by-id: no udev) and starting the
 * mount unit (PID 1 is not systemd): the unit is checked by systemd-analyze
 * verify, and its What/Type/Options are mounted by hand.
 */
let fleet: SshdFleet;
let work: string;
let loop: string;
const UUID = '1be27088-edc7-510c-8a5b-c852167fc57a';

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'pcc-blockdev-'));
  execFileSync('truncate', ['-s', '64M', path.join(work, 'disk.img')]);
  loop = execFileSync('losetup', ['-f', '--show', path.join(work, 'disk.img')], { encoding: 'utf8' }).trim();
  fleet = await startSshdHosts(1, { prefix: 'bd' });
});
afterAll(async () => {
  await fleet?.stop();
  spawnSync('umount', [path.join(work, 'mnt')]);
  if (loop) execFileSync('losetup', ['-d', loop]);
  rmSync(work, { recursive: true, force: true });
});

const record = (): HostRecord => {
  const h = fleet.hosts[0]!;
  return { name: h.name, address: h.address, port: h.port, user: 'root', key: fleet.key, provider: 'static', groups: [], createdAt: new Date().toISOString(), meta: {} };
};
const connect = (h: HostRecord) => Connection.open({ name: h.name, address: h.address, port: h.port, user: h.user, key: h.key }, { home: work, timeoutMs: 5000, retries: 1 });
const match = (): BlockDeviceMatch => ({ what: `volume test (${loop})`, byId: [], names: [path.basename(loop)] });
const fsOptions = { type: 'ext4' as const, label: 'pcc-test', uuid: UUID };
const formatOnly = () => definePlaybook({ name: 'format', run: (host) => host.add(filesystem(match(), fsOptions)) });
const both = () =>
  definePlaybook({
    name: 'volume',
    run(host) {
      host.add(filesystem(match(), fsOptions));
      host.add(mountDevice(match(), '/data', { before: ['docker.service'] }));
    },
  });
const run = (pb: ReturnType<typeof both>, dry: boolean) => runPlaybook(pb, [record()], { dry, concurrency: 1, vars: {}, connect }).then((r) => r.hosts[0]!);
const probe = () => execFileSync('blkid', ['-p', '-o', 'export', loop], { encoding: 'utf8' });

describe('data-volume ops on a real loop device over a real sshd host (no EBS, no systemd as PID 1)', () => {
  it('--dry on a blank disk plans mkfs, shows the mount as may change (it reads the disk the mkfs changes), and formats nothing', async () => {
    const h = await run(both(), true);
    expect(h.error).toBeUndefined();
    expect(h.ops.map((o) => [o.name, o.status, o.uncertain ?? false])).toEqual([
      [`filesystem on volume test (${loop})`, 'changed', false],
      // Planned on what blkid read before the mkfs above would run, so --dry says "may change" (the fact book's system axis).
      [`mount volume test (${loop}) at /data`, 'changed', true],
    ]);
    expect(spawnSync('blkid', ['-p', loop]).status).toBe(2);
  });

  it('the runner formats the blank disk once: ext4 with the label and UUID; a re-run changes nothing', async () => {
    const first = await run(formatOnly(), false);
    expect([first.status, first.changed], first.error).toEqual(['changed', 1]);
    expect(first.ops[0]!.summary).toBe(`mkfs.ext4 ${loop} (blank)`);
    expect(probe()).toMatch(new RegExp(`^UUID=${UUID}$[\\s\\S]*^TYPE=ext4$`, 'm'));
    expect(probe()).toMatch(/^LABEL=pcc-test$/m);
    const again = await run(formatOnly(), false);
    expect([again.status, again.changed, again.roundTrips]).toEqual(['ok', 0, 1]);
  });

  it('data written to it survives: setup never formats it again, and the mkfs script itself refuses a disk that is not blank', async () => {
    const mnt = path.join(work, 'mnt');
    mkdirSync(mnt, { recursive: true });
    // What the unit would mount, by hand: its What (by UUID), Type and Options.
    const unit = mountUnitText({ what: 'volume test', uuid: UUID, type: 'ext4' }, '/data');
    const type = /^Type=(.*)$/m.exec(unit)![1]!;
    const options = /^Options=(.*)$/m.exec(unit)![1]!;
    execFileSync('mount', ['-t', type, '-o', options, `UUID=${UUID}`, mnt]);
    writeFileSync(path.join(mnt, 'results.csv'), 'kept\n');
    execFileSync('umount', [mnt]);

    expect((await run(formatOnly(), false)).changed).toBe(0);
    const direct = spawnSync('sh', ['-c', MKFS_SCRIPT, 'pcc-mkfs', loop, 'pcc-other', '00000000-0000-4000-8000-000000000001'], { encoding: 'utf8' });
    expect(direct.status).toBe(1);
    expect(direct.stderr).toBe(`${loop} is not blank (blkid -p exit 0); pcc formats only blank disks\n`);

    execFileSync('mount', ['-t', 'ext4', `UUID=${UUID}`, mnt]);
    try {
      expect(readFileSync(path.join(mnt, 'results.csv'), 'utf8')).toBe('kept\n');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('the fact over SSH reads the formatted disk; --dry then plans only the mount unit, which systemd-analyze verify accepts under its escaped name', async () => {
    const h = await run(both(), true);
    expect(h.ops.map((o) => [o.status, o.summary ?? ''])).toEqual([
      ['ok', ''],
      ['changed', 'create, enable, start'],
    ]);
    const units = path.join(work, 'units');
    for (const where of ['/data', '/srv/kept', '/data-1', '/mnt/my_vol.2']) {
      const escaped = execFileSync('systemd-escape', ['--path', where], { encoding: 'utf8' }).trim();
      expect(systemdEscapePath(where)).toBe(escaped);
      mkdirSync(units, { recursive: true });
      const file = path.join(units, mountUnitName(where));
      writeFileSync(file, mountUnitText({ what: 'volume test', uuid: UUID, type: 'ext4' }, where, { before: ['docker.service'] }));
      const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
      expect([verify.status, verify.stderr], where).toEqual([0, '']);
      rmSync(file);
    }
    // verify does check the name: the same unit under another name is refused.
    writeFileSync(path.join(units, 'wrong.mount'), mountUnitText({ what: 'volume test', uuid: UUID, type: 'ext4' }, '/data'));
    const wrong = spawnSync('systemd-analyze', ['verify', path.join(units, 'wrong.mount')], { encoding: 'utf8', timeout: 30_000 });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/Where= setting doesn't match unit name/);
  });
});
