import { rmSync } from 'node:fs';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  type Filter,
} from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import { countingProvider, makeProject, REGION, useMotoSuite } from '../../fixtures/ec2.js';
import { acquireOn, saveOn } from '../../../src/fleet/lifecycle.js';

// moto's instances cannot be reached over SSH: acquires here use wait=false.
const suite = useMotoSuite('des');


/** What moto still holds for a project: everything the sweep must leave at zero. */
async function leftovers(project: string) {
  const mine: Filter[] = [{ Name: 'tag:pcc:project-id', Values: [project] }];
  const reservations = (await suite.aws.send(new DescribeInstancesCommand({ Filters: mine }))).Reservations ?? [];
  return {
    instances: reservations.flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated').length,
    groups: (await suite.aws.send(new DescribeSecurityGroupsCommand({ Filters: mine }))).SecurityGroups!.length,
    keys: (await suite.aws.send(new DescribeKeyPairsCommand({ Filters: mine }))).KeyPairs!.length,
    images: (await suite.aws.send(new DescribeImagesCommand({ Owners: ['self'], Filters: mine }))).Images!.length,
    snapshots: (await suite.aws.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: mine }))).Snapshots!.length,
    volumes: (await suite.aws.send(new DescribeVolumesCommand({ Filters: mine }))).Volumes!.length,
  };
}
const nothing = { instances: 0, groups: 0, keys: 0, images: 0, snapshots: 0, volumes: 0 };

describe('ec2 save, destroy and status against moto (no SSH: wait=false)', () => {
  test('save --snapshot stops and images each host; destroy then leaves nothing tagged for the project', async () => {
    const { provider } = countingProvider();
    const hosts = await acquireOn(provider, { type: 'gpu', count: 2, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    const saved = await saveOn(provider, { snapshot: true }, suite.t.ctx()).then((r) => r.hosts);
    expect(saved.map((h) => h.status)).toEqual(['stopped', 'stopped']);
    expect(saved.every((h) => /^ami-/.test(h.meta.image ?? ''))).toBe(true);
    const before = await leftovers(suite.t.project.id);
    expect(before).toMatchObject({ instances: 2, groups: 1, keys: 1, images: 2, snapshots: 2 });

    const report = await provider.destroy(suite.t.ctx());
    const text = report.removed.join('\n');
    for (const h of hosts) expect(text).toContain(`instance ${h.providerId} (${h.name}, g5.xlarge, ${REGION})`);
    expect(text).toMatch(/^image ami-/m);
    expect(text).toMatch(/^snapshot snap-/m);
    expect(text).toMatch(/^security group sg-\S+ \(pcc-des\d+-[0-9a-f]{12}\)$/m);
    expect(text).toMatch(/^key pair pcc-des\d+-[0-9a-f]{12}-[0-9a-f]{8}$/m);

    expect(await leftovers(suite.t.project.id)).toEqual(nothing);
    const state = await suite.t.ctx().state.read();
    expect(state.hosts).toEqual({});
    expect(state.providers.ec2).toBeUndefined();
  });

  test('with .pcc/state.json deleted, destroy still finds and removes everything by the tag sweep', async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 3, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    rmSync(suite.t.project.stateDir, { recursive: true, force: true });

    const report = await provider.destroy(suite.t.ctx());
    expect(report.removed.filter((l) => l.startsWith('instance '))).toHaveLength(3);
    expect(report.removed.join('\n')).toContain('not in state');
    expect(await leftovers(suite.t.project.id)).toEqual(nothing);
  });

  test('a crash right after RunInstances leaves instances the state never saw: destroy removes them', async () => {
    const crashing = countingProvider({
      afterRunInstances: () => {
        throw new Error('simulated kill after RunInstances');
      },
    });
    await expect(acquireOn(crashing.provider, { type: 'gpu', count: 2, wait: false }, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(/simulated kill/);
    expect((await suite.t.ctx().state.read()).hosts).toEqual({});
    expect((await leftovers(suite.t.project.id)).instances).toBe(2);

    const { provider } = countingProvider();
    const report = await provider.destroy(suite.t.ctx());
    expect(report.removed.filter((l) => /^instance i-\S+ \(not in state/.test(l))).toHaveLength(2);
    expect(await leftovers(suite.t.project.id)).toEqual(nothing);
  });

  test("destroy leaves another project's resources alone", async () => {
    const other = makeProject(`${suite.t.project.name}-neighbour`);
    try {
      const { provider } = countingProvider();
      await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, other.ctx()).then((r) => r.hosts);
      await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx()).then((r) => r.hosts);
      await provider.destroy(suite.t.ctx());
      expect(await leftovers(other.project.id)).toMatchObject({ instances: 1, groups: 1, keys: 1 });
      await provider.destroy(other.ctx());
    } finally {
      other.cleanup();
    }
  });

  test('destroy with nothing to remove reports nothing and succeeds', async () => {
    const { provider } = countingProvider();
    expect(await provider.destroy(suite.t.ctx())).toEqual({ removed: [] });
  });

  test('status: state, since, on-demand $/h from the table, spot $/h from DescribeSpotPriceHistory, untracked instances', async () => {
    const { provider, calls } = countingProvider();
    await acquireOn(provider, { type: 'gpu', count: 1, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    await acquireOn(provider, { type: 'cpu', count: 1, spot: true, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    const cpu = Object.values((await suite.t.ctx().state.read()).hosts).find((h) => h.name === 'cpu1')!;
    // Lose the cpu host from the state: it still costs money, so status must still show it.
    await suite.t.ctx().state.update((s) => {
      delete s.hosts.cpu1;
    });

    calls.length = 0;
    const status = await provider.status(suite.t.ctx());
    expect(calls).toContain('DescribeSpotPriceHistory');
    const gpu = status.find((s) => s.name === 'gpu1')!;
    expect(gpu).toMatchObject({ provider: 'ec2', state: 'running', usdPerHour: 1.006, groups: ['ec2', 'gpu', 'g5.xlarge'] });
    expect(Date.parse(gpu.since!)).not.toBeNaN();
    const spot = status.find((s) => s.name === cpu.providerId)!;
    // moto answers every spot price history with 0.00001.
    expect(spot).toMatchObject({ state: 'running', usdPerHour: 0.00001, groups: ['ec2', 'untracked', 'c6i.xlarge'] });

    await saveOn(provider, {}, suite.t.ctx()).then((r) => r.hosts);
    await suite.t.ctx().state.update((s) => {
      s.hosts.gpu9 = { ...s.hosts.gpu1!, name: 'gpu9', providerId: 'i-00000000000000009' };
    });
    const stopped = (await provider.status(suite.t.ctx())).filter((s) => s.name !== 'gpu9');
    expect((await provider.status(suite.t.ctx())).find((s) => s.name === 'gpu9')).toMatchObject({ state: 'missing' });
    expect(stopped.map((s) => s.state)).toEqual(['stopped', 'stopped']);
    expect(stopped.every((s) => s.usdPerHour === undefined && s.since === undefined)).toBe(true);
    await provider.destroy(suite.t.ctx());
  });
});
