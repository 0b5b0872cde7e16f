import { rmSync } from 'node:fs';
import { DescribeInstancesCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { openProject } from '../../../src/core/project.js';
import { adoptProject } from '../../../src/fleet/adopt.js';
import { StateStore } from '../../../src/state/store.js';
import { describe, expect, test } from 'vitest';
import { acquire, destroy, release } from '../../../src/fleet/lifecycle.js';
import { createVolume, hostVolumes, listVolumes, remainingVolumeLines, removeVolume } from '../../../src/fleet/volumes.js';
import { STORAGE_USD_PER_GB_MONTH } from '../../../src/providers/ec2/prices.js';
import { useMotoSuite } from '../../fixtures/ec2.js';

/** Data volumes on moto, through the EC2 API only (moto's instances cannot be reached over SSH, so nothing is mounted: --no-wait; the mount is tested on fixtures and a loop device). */
const suite = useMotoSuite('vol');

async function volume(id: string) {
  const out = await suite.aws.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [id] }] }));
  return out.Volumes?.[0];
}

describe('ec2 data volumes on moto (API side only, no SSH: wait=false)', () => {
  test('create is an encrypted gp3 volume tagged for the project; acquire --volume launches in its zone and attaches it; destroy keeps it; rm deletes it', async () => {
    const ctx = suite.t.ctx();
    const made = await createVolume('data', { sizeGiB: 10, provider: 'ec2' }, ctx);
    expect(made).toMatchObject({ name: 'data', provider: 'ec2', sizeGiB: 10, region: 'us-east-1' });
    const v = (await volume(made.providerId!))!;
    expect(v).toMatchObject({ Size: 10, VolumeType: 'gp3', Encrypted: true, AvailabilityZone: made.zone, State: 'available' });
    expect(v.Tags).toEqual(expect.arrayContaining([{ Key: 'pcc:project-id', Value: suite.t.project.id }, { Key: 'pcc:volume', Value: 'data' }]));

    const got = await acquire('ec2', { type: 'cpu', count: 1, wait: false, volume: { name: 'data', mountPoint: '/data' } }, ctx);
    const host = got.hosts[0]!;
    expect(got.volume).toMatchObject({ name: 'data', attachedTo: host.name, mountPoint: '/data' });
    const inst = (await suite.aws.send(new DescribeInstancesCommand({ InstanceIds: [host.providerId!] }))).Reservations![0]!.Instances![0]!;
    expect(inst.Placement?.AvailabilityZone).toBe(made.zone);
    const attached = (await volume(made.providerId!))!;
    expect(attached.State).toBe('in-use');
    expect(attached.Attachments?.[0]).toMatchObject({ InstanceId: host.providerId, Device: '/dev/sdf' });
    // What setup then formats and mounts there: the disk whose NVMe serial is this volume id without the dash (or xvdf on Xen).
    expect(await hostVolumes(await ctx.state.read())).toEqual([
      expect.objectContaining({ host: host.name, name: 'data', mountPoint: '/data', device: expect.objectContaining({ serial: made.providerId!.replace('-', ''), names: ['xvdf', 'sdf'] }) }),
    ]);

    await expect(removeVolume('data', ctx)).rejects.toThrow(`volume data is attached to ${host.name}`);
    await expect(acquire('ec2', { type: 'cpu', count: 2, wait: false, volume: { name: 'data', mountPoint: '/data' } }, ctx)).rejects.toThrow(
      `attached to ${host.name}`,
    );

    const report = await destroy('ec2', ctx);
    expect(report.removed.join('\n')).not.toContain(made.providerId!);
    expect((await volume(made.providerId!))?.State).toBe('available');
    expect(await listVolumes(ctx)).toMatchObject([{ name: 'data', attachedTo: undefined, usdPerMonth: 10 * STORAGE_USD_PER_GB_MONTH.gp3! }]);
    expect(await remainingVolumeLines('ec2', ctx)).toEqual(['volume data remains (10 GiB, ~$0.80/month); pcc volume rm data removes it']);

    expect(await removeVolume('data', ctx)).toEqual([`volume data (${made.providerId}, 10 GiB, us-east-1)`]);
    const gone = await volume(made.providerId!);
    expect(gone === undefined || gone.State === 'deleting' || gone.State === 'deleted').toBe(true);
    expect(await listVolumes(ctx)).toEqual([]);
  });

  test('release detaches: the volume then goes to a new host of the same --volume', async () => {
    const ctx = suite.t.ctx();
    const made = await createVolume('scratch', { sizeGiB: 1, provider: 'ec2' }, ctx);
    const first = await acquire('ec2', { type: 'cpu', count: 1, wait: false, volume: { name: 'scratch', mountPoint: '/scratch' } }, ctx);
    await release([first.hosts[0]!.name], ctx);
    expect((await volume(made.providerId!))?.State).toBe('available');
    const second = await acquire('ec2', { type: 'cpu', count: 1, wait: false, volume: { name: 'scratch', mountPoint: '/scratch' } }, ctx);
    expect((await volume(made.providerId!))?.Attachments?.[0]?.InstanceId).toBe(second.hosts[0]!.providerId);
    await destroy('ec2', ctx);
    await removeVolume('scratch', ctx);
  });

  test('item 4: a project that keeps only a data volume is still found by its tag, so adopting its id is not refused', async () => {
    const ctx = suite.t.ctx();
    await createVolume('only', { sizeGiB: 1, provider: 'ec2' }, ctx);
    const id = suite.t.project.id;
    rmSync(suite.t.project.stateDir, { recursive: true, force: true });
    const fresh = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    const adopted = await adoptProject('ec2', id, { ...suite.t.ctx(), project: fresh, state: new StateStore(fresh) });
    expect(adopted.hosts).toEqual([]);
    const again = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    const againCtx = { ...suite.t.ctx(), project: again, state: new StateStore(again) };
    expect(await listVolumes(againCtx)).toMatchObject([{ name: 'only', provider: 'ec2', sizeGiB: 1 }]);
    await removeVolume('only', againCtx);
  });

  test('adopt after rm -rf .pcc brings the volume record back from its tags, attached to its host at its mount point', async () => {
    const ctx = suite.t.ctx();
    const made = await createVolume('kept', { sizeGiB: 2, provider: 'ec2' }, ctx);
    const got = await acquire('ec2', { type: 'cpu', count: 1, wait: false, volume: { name: 'kept', mountPoint: '/srv/kept' } }, ctx);
    const id = suite.t.project.id;
    rmSync(suite.t.project.stateDir, { recursive: true, force: true });
    const fresh = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    const adoptCtx = { ...suite.t.ctx(), project: fresh, state: new StateStore(fresh) };
    await adoptProject('ec2', id, adoptCtx);
    const again = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    const againCtx = { ...suite.t.ctx(), project: again, state: new StateStore(again) };
    expect(await listVolumes(againCtx)).toMatchObject([
      { name: 'kept', provider: 'ec2', sizeGiB: 2, providerId: made.providerId, zone: made.zone, attachedTo: got.hosts[0]!.name, mountPoint: '/srv/kept' },
    ]);
    await destroy('ec2', againCtx);
    await removeVolume('kept', againCtx);
  });
});
