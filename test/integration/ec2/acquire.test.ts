import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import { MOTO_ACCOUNT_ID } from '../../fixtures/moto.js';
import { ignitionReport } from '../../fixtures/ignition-validate.js';
import { countingProvider, DLAMI_PARAMETER, makeProject, REGION, TEST_CIDR, useMotoSuite, liveInstances as liveInstancesOf } from '../../fixtures/ec2.js';
import { acquireOn, resumeOn, saveOn } from '../../../src/fleet/lifecycle.js';

// moto's instances cannot be reached over SSH: every acquire here uses wait=false
// (the provider itself never opens SSH; the core's SSH wait is not under test).
const gpu2 = { type: 'gpu', count: 2, wait: false } as const;
const suite = useMotoSuite('acq');



/** The test project's instances, as moto sees them. */
const liveInstances = () => liveInstancesOf(suite.aws, suite.t.project.id);

const tag = (i: Instance, k: string) => i.Tags?.find((x) => x.Key === k)?.Value;

describe('ec2 acquire against moto (no SSH: wait=false)', () => {
  test('acquire --type gpu --count 2 records 2 tagged, running GPU hosts from the newest Flatcar image', async () => {
    const { provider } = countingProvider();
    const hosts = await acquireOn(provider, gpu2, suite.t.ctx()).then((r) => r.hosts);

    expect(hosts.map((h) => h.name)).toEqual(['gpu1', 'gpu2']);
    for (const h of hosts) {
      expect(h.provider).toBe('ec2');
      expect(h.groups).toEqual(['ec2', 'gpu', 'g5.xlarge']);
      expect(h.status).toBe('running');
      expect(h.user).toBe('core');
      expect(h.key).toBe('~/.ssh/id_ed25519');
      expect(h.providerId).toMatch(/^i-/);
      expect(h.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(h).toMatchObject({ region: REGION, instanceType: 'g5.xlarge', meta: { spot: 'false' } });
    }
    const state = await suite.t.ctx().state.read();
    expect(Object.keys(state.hosts).sort()).toEqual(['gpu1', 'gpu2']);

    const live = await liveInstances();
    expect(live).toHaveLength(2);
    for (const i of live) {
      expect(i.State?.Name).toBe('running');
      expect(i.ImageId).toBe(suite.seeds.flatcarAmi);
      expect(i.InstanceType).toBe('g5.xlarge');
      expect(tag(i, 'pcc:project')).toBe(suite.t.project.name);
      expect(tag(i, 'pcc:role')).toBe('compute');
      expect(tag(i, 'pcc:type')).toBe('gpu');
    }
    // Every resource carries the project and role tags from creation on.
    const mine = [{ Name: 'tag:pcc:project-id', Values: [suite.t.project.id] }];
    const volumes = (await suite.aws.send(new DescribeVolumesCommand({ Filters: mine }))).Volumes ?? [];
    expect(volumes).toHaveLength(2);
    const groups = (await suite.aws.send(new DescribeSecurityGroupsCommand({ Filters: mine }))).SecurityGroups!;
    expect(groups).toHaveLength(1);
    expect(groups[0]!.Tags).toContainEqual({ Key: 'pcc:role', Value: 'compute' });
    // SSH and the overlay port from the caller's CIDR, the overlay port from the group itself
    // (the project's hosts dial each other privately); nothing open to the world.
    const group = groups[0]!;
    const rules = group.IpPermissions!.flatMap((p) => [
      ...(p.IpRanges ?? []).map((r) => `${p.IpProtocol}/${p.FromPort}/${r.CidrIp}`),
      ...(p.UserIdGroupPairs ?? []).map((g) => `${p.IpProtocol}/${p.FromPort}/${g.GroupId === group.GroupId ? 'self' : g.GroupId}`),
    ]);
    expect(rules.sort()).toEqual([`tcp/22/${TEST_CIDR}`, `udp/51820/${TEST_CIDR}`, 'udp/51820/self']);
    expect(rules.some((r) => r.includes('0.0.0.0/0'))).toBe(false);
    const keys = (await suite.aws.send(new DescribeKeyPairsCommand({ Filters: mine }))).KeyPairs!;
    expect(keys).toHaveLength(1);

    // The user data: valid for the upstream Ignition validator, with the open driver sysext for g5's A10G (Ampere).
    const dir = path.join(suite.t.project.stateDir, 'ec2');
    const [ign] = readdirSync(dir).filter((f) => f.endsWith('.ign'));
    const text = readFileSync(path.join(dir, ign!), 'utf8');
    expect(ignitionReport(text)).toBe('');
    const conf = JSON.parse(text).storage.files.find((f: { path: string }) => f.path === '/etc/flatcar/enabled-sysext.conf');
    expect(decodeURIComponent(conf.contents.source)).toBe('data:,nvidia-drivers-570-open\n');
    expect(text).not.toContain('nvidia.service');
  });

  test('a GPU type Flatcar has no driver sysext for (g5g, arm64) is refused before anything launches', async () => {
    const { provider, calls } = countingProvider();
    await expect(acquireOn(provider, { ...gpu2, instanceType: 'g5g.xlarge' }, suite.t.ctx())).rejects.toThrow(
      "g5g.xlarge is arm64: Flatcar's NVIDIA driver sysexts are built for amd64 only; pick an x86_64 GPU type or EC2_GPU_AMI=dlami",
    );
    expect(calls).not.toContain('RunInstances');
  });

  test('the same acquire retried launches once', async () => {
    const { provider, calls } = countingProvider();
    const first = await acquireOn(provider, gpu2, suite.t.ctx()).then((r) => r.hosts);
    calls.length = 0;
    const again = await acquireOn(provider, gpu2, suite.t.ctx()).then((r) => r.hosts);
    expect(again.map((h) => h.providerId).sort()).toEqual(first.map((h) => h.providerId).sort());
    expect(calls).not.toContain('RunInstances');
    expect(await liveInstances()).toHaveLength(2);
    expect(suite.t.messages.join('\n')).toMatch(/already running; nothing to do/);
  });

  test('a crash after RunInstances, before the state is written: the re-run adopts those instances', async () => {
    const crashing = countingProvider({
      afterRunInstances: () => {
        throw new Error('simulated kill after RunInstances');
      },
    });
    await expect(acquireOn(crashing.provider, gpu2, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(/simulated kill/);
    expect(Object.keys((await suite.t.ctx().state.read()).hosts)).toEqual([]);
    const launched = (await liveInstances()).map((i) => i.InstanceId).sort();
    expect(launched).toHaveLength(2);

    const { provider, calls } = countingProvider();
    const hosts = await acquireOn(provider, gpu2, suite.t.ctx()).then((r) => r.hosts);
    expect(calls).not.toContain('RunInstances');
    expect(hosts.map((h) => h.providerId).sort()).toEqual(launched);
    expect(Object.keys((await suite.t.ctx().state.read()).hosts).sort()).toEqual(['gpu1', 'gpu2']);
  });

  test('the number of EC2 calls per acquire does not grow with the count', async () => {
    const one = countingProvider();
    await acquireOn(one.provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    const other = makeProject(`${suite.t.project.name}-other`);
    try {
      const five = countingProvider();
      await acquireOn(five.provider, { type: 'cpu', count: 5, wait: false }, other.ctx()).then((r) => r.hosts);
      expect(five.calls).toEqual(one.calls);
    } finally {
      other.cleanup();
    }
    expect(one.calls.filter((c) => c === 'RunInstances')).toHaveLength(1);
    expect(one.calls.length).toBeLessThanOrEqual(12);
  });

  test('a larger count launches only the missing hosts, with the next free names', async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'gpu', count: 1, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    const hosts = await acquireOn(provider, { type: 'gpu', count: 3, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    expect(hosts.map((h) => h.name).sort()).toEqual(['gpu1', 'gpu2', 'gpu3']);
    expect(await liveInstances()).toHaveLength(3);
  });

  test('a cpu instance type given for --type gpu is refused, by what AWS says about the type', async () => {
    const { provider, calls } = countingProvider();
    await expect(acquireOn(provider, { ...gpu2, instanceType: 'c6i.xlarge' }, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(
      /instance type c6i\.xlarge has no GPU; set EC2_INSTANCE_TYPE_GPU/,
    );
    expect(calls).not.toContain('RunInstances');
  });

  test('EC2_GPU_AMI=dlami takes the AMI named by the SSM parameter and logs in as ubuntu', async () => {
    suite.t.writeEnv({
      EC2_REGION: REGION,
      EC2_AMI_OWNER: '123456789012',
      EC2_SSH_CIDR: TEST_CIDR,
      EC2_DLAMI_SSM_PARAMETER: DLAMI_PARAMETER,
      EC2_GPU_AMI: 'dlami',
      PCC_SSH_KEY: '~/.ssh/id_ed25519',
    });
    const { provider } = countingProvider();
    const [host] = await acquireOn(provider, { type: 'gpu', count: 1, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    expect(host!.user).toBe('ubuntu');
    const [inst] = await liveInstances();
    expect(inst!.ImageId).toBe(suite.seeds.dlamiAmi);
  });

  test('--ami skips the lookup; an unknown AMI is a one-line error', async () => {
    const { provider } = countingProvider();
    const [host] = await acquireOn(provider, { type: 'cpu', count: 1, ami: suite.seeds.dlamiAmi, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    const [inst] = await liveInstances();
    expect(inst!.ImageId).toBe(suite.seeds.dlamiAmi);
    expect(host!.user).toBe('ubuntu');
    const err = await acquireOn(provider, { type: 'cpu', count: 2, ami: 'ami-0123456789abcdef0', wait: false }, suite.t.ctx()).then((r) => r.hosts).catch((e) => e);
    expect(err.name).toBe('PccError');
    expect(err.message).toMatch(/^AMI ami-0123456789abcdef0 \(from --ami \/ EC2_AMI\) does not exist in us-east-1/);
    expect(err.message).not.toContain('\n');
  });

  test('save stops the hosts; resume, and then acquire of the same spec, start the same ids instead of launching', async () => {
    const { provider, calls } = countingProvider();
    const hosts = await acquireOn(provider, gpu2, suite.t.ctx()).then((r) => r.hosts);
    const saved = await saveOn(provider, {}, suite.t.ctx()).then((r) => r.hosts);
    expect(saved.map((h) => h.status)).toEqual(['stopped', 'stopped']);
    expect((await liveInstances()).map((i) => i.State?.Name)).toEqual(['stopped', 'stopped']);

    calls.length = 0;
    // `pcc resume ec2` starts what was saved.
    const resumed = await resumeOn(provider, suite.t.ctx()).then((r) => r.hosts);
    expect(calls).not.toContain('RunInstances');
    expect(calls).toContain('StartInstances');
    expect(resumed.map((h) => h.providerId).sort()).toEqual(hosts.map((h) => h.providerId).sort());
    expect(resumed.map((h) => h.name)).toEqual(['gpu1', 'gpu2']);
    expect((await liveInstances()).map((i) => i.State?.Name)).toEqual(['running', 'running']);

    // Saved again, `acquire --type gpu --count 2` starts the same two: stopped ones of the spec first.
    await saveOn(provider, {}, suite.t.ctx());
    calls.length = 0;
    const again = await acquireOn(provider, gpu2, suite.t.ctx());
    expect(again.plan).toEqual([{ op: 'start', hosts: ['gpu1', 'gpu2'] }]);
    expect(calls).not.toContain('RunInstances');
  });

  test('a PCC_SSH_KEY the user set that is missing is a one-line error naming the file', async () => {
    rmSync(`${suite.t.project.home}/.ssh`, { recursive: true, force: true });
    const { provider } = countingProvider();
    await expect(acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(
      /^config\/ec2.env: PCC_SSH_KEY=~\/.ssh\/id_ed25519: .* is missing; create it with ssh-keygen/,
    );
  });

  test('with PCC_SSH_KEY unset and no ~/.ssh key, pcc makes a project key in .pcc/ssh/ and records it on the hosts', async () => {
    rmSync(`${suite.t.project.home}/.ssh`, { recursive: true, force: true });
    suite.t.writeEnv({ EC2_REGION: REGION, EC2_AMI_OWNER: MOTO_ACCOUNT_ID, EC2_SSH_CIDR: TEST_CIDR, EC2_DLAMI_SSM_PARAMETER: DLAMI_PARAMETER });
    const { provider } = countingProvider();
    const [host] = await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx()).then((r) => r.hosts);
    expect(host!.key).toBe(`${suite.t.project.stateDir}/ssh/id_ed25519`);
    expect(suite.t.messages.join('\n')).toMatch(/made .*id_ed25519 for this project's hosts/);
  });

  test('dry run resolves and renders but creates nothing', async () => {
    const { provider, calls } = countingProvider();
    const hosts = await acquireOn(provider, gpu2, suite.t.ctx({ dry: true })).then((r) => r.hosts);
    expect(hosts).toEqual([]);
    expect(calls.filter((c) => /^(Run|Create|Import|Authorize)/.test(c))).toEqual([]);
    expect(suite.t.messages.join('\n')).toMatch(/would launch 2 × g5\.xlarge from ami-/);
    expect(await liveInstances()).toHaveLength(0);
  });
});
