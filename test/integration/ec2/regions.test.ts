import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import { countingProvider, REGION, useMotoSuite } from '../../fixtures/ec2.js';
import { acquireOn } from '../../../src/fleet/lifecycle.js';
/** The reconcile's acquire on one provider, as the CLI runs it. */
const acquireHosts = async (...args: Parameters<typeof acquireOn>) => (await acquireOn(...args)).hosts;


// moto's instances cannot be reached over SSH: acquires here use wait=false.
const suite = useMotoSuite('reg');

describe('ec2 regions and instance metadata against moto (no SSH: wait=false)', () => {
  test('--region us-eats-1 is refused before it is recorded, with a suggestion, and asks AWS nothing', async () => {
    const { provider, calls } = countingProvider();
    await expect(acquireHosts(provider, { type: 'cpu', count: 1, wait: false, region: 'us-eats-1' }, suite.t.ctx())).rejects.toThrow(
      '--region: us-eats-1 is not an AWS region; did you mean us-east-1?',
    );
    expect(calls).toEqual([]);
    expect((await suite.t.ctx().state.read()).providers.ec2).toBeUndefined();
  });

  test('EC2_REGION=mars-1 is refused naming config/ec2.env, before it is recorded', async () => {
    suite.t.writeEnv({ EC2_REGION: 'mars-1', EC2_SSH_CIDR: '198.51.100.7/32' });
    const { provider, calls } = countingProvider();
    await expect(acquireHosts(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx())).rejects.toThrow(
      /^config\/ec2\.env \(EC2_REGION\): mars-1 is not an AWS region/,
    );
    expect(calls).toEqual([]);
    expect((await suite.t.ctx().state.read()).providers.ec2).toBeUndefined();
  });

  test('a poisoned region in the state (recorded by an older pcc) is removed by the next destroy, with a line saying so', async () => {
    const { provider } = countingProvider();
    const [host] = await acquireHosts(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    await suite.t.ctx().state.update((s) => {
      s.providers.ec2 = { regions: [REGION, 'us-eats-1'] };
      s.hosts.ghost = { ...host!, name: 'ghost', providerId: 'i-ghost', region: 'us-eats-1' };
    });
    const report = await provider.destroy(suite.t.ctx());
    expect(suite.t.messages).toContain('warning: ec2: removed us-eats-1 from .pcc/state.json: not an AWS region, so nothing of this project can be there');
    expect(report.removed.join('\n')).toContain(`instance ${host!.providerId}`);
    const state = await suite.t.ctx().state.read();
    expect(state.hosts).toEqual({});
    expect(state.providers.ec2).toBeUndefined();
  });

  test('instances require IMDSv2 (HttpTokens required, hop limit 1)', async () => {
    const { provider } = countingProvider();
    const [host] = await acquireHosts(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    const out = await suite.aws.send(new DescribeInstancesCommand({ InstanceIds: [host!.providerId!] }));
    expect(out.Reservations![0]!.Instances![0]!.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
  });
});
