import { createServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { desiredIngress, ingressChanges, parseCallerCidr } from '../../../../src/providers/ec2/access.js';
import { runInstancesInput, type LaunchPlan } from '../../../../src/providers/ec2/instances.js';
import { imageFlavour, loginUser, newestImage } from '../../../../src/providers/ec2/lookup.js';
import { onDemandPrice } from '../../../../src/providers/ec2/prices.js';
import { clientToken, kindHash } from '../../../../src/providers/ec2/tags.js';
import { countingProvider, makeProject, type TestProject } from '../../../fixtures/ec2.js';

// Pure builders, tested by their exact output: no AWS and no moto needed.
const plan: LaunchPlan = {
  project: { id: '0123456789ab', name: 'demo', root: '/home/u/demo' },
  role: 'compute',
  type: 'gpu',
  kind: 'abcd1234abcd1234',
  count: 2,
  imageId: 'ami-0f1',
  instanceType: 'g5.xlarge',
  keyName: 'pcc-demo-0a1b2c3d',
  securityGroupId: 'sg-1',
  userData: '{"ignition":{"version":"3.4.0"}}\n',
  spot: false,
  user: 'core',
  rootDeviceName: '/dev/xvda',
  rootVolumeGb: 30,
  clientToken: 'pcc-token',
};
const tags = [
  { Key: 'Name', Value: 'pcc-demo-gpu' },
  { Key: 'pcc:project', Value: 'demo' },
  { Key: 'pcc:project-id', Value: '0123456789ab' },
  { Key: 'pcc:path', Value: '/home/u/demo' },
  { Key: 'pcc:role', Value: 'compute' },
  { Key: 'pcc:type', Value: 'gpu' },
  { Key: 'pcc:request', Value: 'abcd1234abcd1234' },
  { Key: 'pcc:user', Value: 'core' },
];

describe('RunInstances input', () => {
  test('one call for all N, tagged at creation, with the client token and base64 user data', () => {
    expect(runInstancesInput(plan)).toEqual({
      ImageId: 'ami-0f1',
      InstanceType: 'g5.xlarge',
      MinCount: 2,
      MaxCount: 2,
      KeyName: 'pcc-demo-0a1b2c3d',
      SecurityGroupIds: ['sg-1'],
      UserData: Buffer.from(plan.userData).toString('base64'),
      ClientToken: 'pcc-token',
      MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3', DeleteOnTermination: true } }],
    });
  });

  test('spot: persistent requests that stop on interruption (so save/resume work), and the request is tagged too', () => {
    const input = runInstancesInput({ ...plan, spot: true });
    expect(input.InstanceMarketOptions).toEqual({
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' },
    });
    expect(input.TagSpecifications!.map((t) => t.ResourceType)).toEqual(['instance', 'volume', 'spot-instances-request']);
  });
});

describe('idempotency keys', () => {
  const kind = { project: 'demo', type: 'gpu', instanceType: 'g5.xlarge', ami: 'lookup:x/y/x86_64', spot: false } as const;
  test('the kind hash depends on what was asked, not on the count', () => {
    expect(kindHash(kind)).toBe(kindHash({ ...kind }));
    expect(kindHash(kind)).not.toBe(kindHash({ ...kind, instanceType: 'g5.2xlarge' }));
    expect(kindHash(kind)).not.toBe(kindHash({ ...kind, spot: true }));
    expect(kindHash(kind)).toMatch(/^[0-9a-f]{16}$/);
  });

  test('the client token is stable for a retry and new after the world changed', () => {
    const base = { kind: 'k', count: 2, existingIds: ['i-2', 'i-1'], securityGroupId: 'sg-1' };
    const token = clientToken(base);
    expect(token).toMatch(/^pcc-[0-9a-f]{40}$/);
    expect(token.length).toBeLessThanOrEqual(64);
    expect(clientToken({ ...base, existingIds: ['i-1', 'i-2'] })).toBe(token);
    expect(clientToken({ ...base, securityGroupId: 'sg-2' })).not.toBe(token); // after a destroy
    expect(clientToken({ ...base, existingIds: ['i-1'] })).not.toBe(token); // an instance went away
    expect(clientToken({ ...base, salt: 'i-9' })).not.toBe(token);
  });
});

describe('security group rules', () => {
  const want = desiredIngress('203.0.113.7/32', 51820);

  test('a new group gets exactly SSH and the overlay port from the caller', () => {
    expect(ingressChanges([], want, 'sg-1')).toEqual({
      revoke: [],
      authorize: [
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.7/32', Description: 'pcc ssh' }] },
        { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, IpRanges: [{ CidrIp: '203.0.113.7/32', Description: 'pcc overlay' }] },
        // The project's own hosts reach each other's overlay port privately: a self-referencing rule.
        { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, UserIdGroupPairs: [{ GroupId: 'sg-1', Description: "pcc overlay between the project's hosts" }] },
      ],
    });
  });

  test('a group that is right is left alone; stale and foreign openings are revoked', () => {
    const current = [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.7/32' }, { CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, IpRanges: [{ CidrIp: '203.0.113.7/32' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, UserIdGroupPairs: [{ GroupId: 'sg-1' }, { GroupId: 'sg-other' }] },
    ];
    // A rule with a stale source goes whole; what was wanted in it comes back.
    expect(ingressChanges(current, want, 'sg-1')).toEqual({
      revoke: [
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.7/32' }, { CidrIp: '0.0.0.0/0' }] },
        { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
        { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, UserIdGroupPairs: [{ GroupId: 'sg-1' }, { GroupId: 'sg-other' }] },
      ],
      authorize: [
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.7/32', Description: 'pcc ssh' }] },
        { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, UserIdGroupPairs: [{ GroupId: 'sg-1', Description: "pcc overlay between the project's hosts" }] },
      ],
    });
    const right = [
      ...current.slice(0, 2).map((p) => ({ ...p, IpRanges: [{ CidrIp: '203.0.113.7/32' }] })),
      { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, UserIdGroupPairs: [{ GroupId: 'sg-1' }] },
    ];
    expect(ingressChanges(right, want, 'sg-1')).toEqual({
      revoke: [],
      authorize: [],
    });
  });

  test('EC2_SSH_CIDR: an address means /32; the whole internet is refused', () => {
    expect(parseCallerCidr('203.0.113.7', 'config/ec2.env')).toBe('203.0.113.7/32');
    expect(parseCallerCidr(' 10.1.0.0/16 ', 'config/ec2.env')).toBe('10.1.0.0/16');
    expect(() => parseCallerCidr('0.0.0.0/0', 'config/ec2.env')).toThrow(
      'config/ec2.env: EC2_SSH_CIDR=0.0.0.0/0 would open SSH to much of the internet; use your own address, e.g. 203.0.113.7/32',
    );
    expect(() => parseCallerCidr('300.1.1.1', 'config/ec2.env')).toThrow(/is not an IPv4 address or CIDR/);
    expect(() => parseCallerCidr('::1/128', 'config/ec2.env')).toThrow(/is not an IPv4 address or CIDR/);
  });

  test('EC2_SSH_CIDR with host bits (127.0.0.1/8) is refused naming the file, before it goes to AWS', () => {
    expect(() => parseCallerCidr('127.0.0.1/8', 'config/ec2.env')).toThrow(
      'config/ec2.env: EC2_SSH_CIDR=127.0.0.1/8 has host bits set; write 127.0.0.0/8 for the whole network or 127.0.0.1/32 for this address alone',
    );
  });
});

describe('images and prices', () => {
  test('the newest image wins; a tie in creation time goes to the higher version in the name', () => {
    const images = [
      { ImageId: 'a', Name: 'Flatcar-stable-3975.2.0-hvm', CreationDate: '2025-01-01T00:00:00.000Z' },
      { ImageId: 'b', Name: 'Flatcar-stable-4081.2.0-hvm', CreationDate: '2025-01-01T00:00:00.000Z' },
      { ImageId: 'c', Name: 'Flatcar-stable-4012.0.0-hvm', CreationDate: '2024-06-01T00:00:00.000Z' },
    ];
    expect(newestImage(images)?.ImageId).toBe('b');
    expect(newestImage([])).toBeUndefined();
  });

  test('the image decides the login user', () => {
    expect(loginUser(imageFlavour('Flatcar-stable-4081.2.0-hvm'))).toBe('core');
    expect(loginUser(imageFlavour('Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) 20240101'))).toBe('ubuntu');
    expect(loginUser(imageFlavour('al2023-ami-2023.5'))).toBe('ec2-user');
  });

  test('the price table knows the default instance types', () => {
    expect(onDemandPrice('c6i.xlarge')).toBe(0.17);
    expect(onDemandPrice('g5.xlarge')).toBe(1.006);
    expect(onDemandPrice('x9.nonexistent')).toBeUndefined();
  });
});

describe('an unreachable endpoint', () => {
  let t: TestProject | undefined;
  afterEach(() => t?.cleanup());

  test('is one line naming the endpoint (a closed loopback port)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    process.env.AWS_ENDPOINT_URL_EC2 = `http://127.0.0.1:${port}`;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    t = makeProject('unreachable');
    const { provider } = countingProvider();
    const err = await provider.status(t.ctx()).catch((e) => e);
    expect(err.name).toBe('PccError');
    expect(err.message).toBe(
      `cannot reach AWS (DescribeInstances) at http://127.0.0.1:${port}: ECONNREFUSED; check the network or AWS_ENDPOINT_URL_EC2`,
    );
  });
});
