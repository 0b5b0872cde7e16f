import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, test } from 'vitest';
import { projectKeyPath } from '../../../src/core/user-key.js';
import { discoverPublicIp } from '../../../src/providers/ec2/access.js';
import { countingProvider, DLAMI_PARAMETER, REGION, useMotoSuite } from '../../fixtures/ec2.js';
import { acquireOn, saveOn } from '../../../src/fleet/lifecycle.js';

// Credentials, and who may reach the hosts. moto's instances cannot be reached
// over SSH: acquires here use wait=false.
const suite = useMotoSuite('acc');
const cpu1 = { type: 'cpu', count: 1, wait: false } as const;
const baseEnv = {
  EC2_REGION: REGION,
  EC2_AMI_OWNER: '123456789012',
  EC2_DLAMI_SSM_PARAMETER: DLAMI_PARAMETER,
  PCC_SSH_KEY: '~/.ssh/id_ed25519',
};

afterEach(async () => {
  await suite.moto.requireAuth(false);
  });

async function ingress(project: string): Promise<string[]> {
  const groups = (await suite.aws.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:pcc:project-id', Values: [project] }] })))
    .SecurityGroups!;
  return groups.flatMap((g) => g.IpPermissions!.flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.IpProtocol}/${p.FromPort}/${r.CidrIp}`))).sort();
}

/** A what-is-my-IP service on loopback, so discovery is tested without leaving 127.0.0.0/8. */
async function checkIpServer(answer: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.end(`${answer}\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

describe('ec2 credentials (moto)', () => {
  test('missing credentials give one line that says where to put them', async () => {
    suite.t.writePrivate(undefined);
    suite.t.writeEnv({ ...baseEnv, EC2_SSH_CIDR: '198.51.100.7/32' });
    const { provider } = countingProvider();
    const err = await acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts).catch((e) => e);
    expect(err.name).toBe('PccError');
    expect(err.message).toMatch(/^no AWS credentials found: put AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in config\/\.private/);
    expect(err.message).not.toContain('\n');
  });

  test('wrong credentials give one line, and never show the secret or the key id', async () => {
    suite.t.writeEnv({ ...baseEnv, EC2_SSH_CIDR: '198.51.100.7/32' });
    await suite.moto.requireAuth(true);
    const { provider } = countingProvider();
    const err = await acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts).catch((e) => e);
    expect(err.name).toBe('PccError');
    expect(err.message).toBe(
      'AWS rejected the credentials from config/.private (AuthFailure); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or renew the session',
    );
    for (const op of [() => provider.status(suite.t.ctx()), () => provider.destroy(suite.t.ctx()), () => saveOn(provider, {}, suite.t.ctx()).then((r) => r.hosts)]) {
      const e = await op().catch((x) => x);
      expect(e.message).toMatch(/^AWS rejected the credentials/);
      expect(e.message).not.toMatch(/pcc-test-secret-value|AKIATESTPCC0000KEY/);
    }
  });

  test('only one of the two keys is an error that names the file', async () => {
    suite.t.writePrivate({ AWS_ACCESS_KEY_ID: 'AKIATESTPCC0000KEY' });
    const { provider } = countingProvider();
    await expect(acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(
      'config/.private: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or neither to use your AWS profile',
    );
  });
});

describe('ec2 security group: the caller only (moto)', () => {
  test('EC2_SSH_CIDR 0.0.0.0/0 is refused before anything is created', async () => {
    suite.t.writeEnv({ ...baseEnv, EC2_SSH_CIDR: '0.0.0.0/0' });
    const { provider, calls } = countingProvider();
    await expect(acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(/EC2_SSH_CIDR=0\.0\.0\.0\/0 would open SSH to much of the internet/);
    expect(calls.filter((c) => /^(Run|Create|Import|Authorize)/.test(c))).toEqual([]);
  });

  test('item 11: bad EC2 settings are refused before the user-data file, the region list and the project key are written (check first, write after)', async () => {
    // No key in the home: an acquire that got as far as the key would make a project key in .pcc/ssh/.
    rmSync(suite.t.keyPath);
    rmSync(`${suite.t.keyPath}.pub`);
    const { PCC_SSH_KEY: _, ...noKey } = baseEnv;
    const written = async () => ({
      userData: existsSync(path.join(suite.t.project.stateDir, 'ec2')),
      projectKey: existsSync(projectKeyPath(suite.t.project)),
      regions: (await suite.t.state.read()).providers.ec2,
    });
    const nothing = { userData: false, projectKey: false, regions: undefined };
    const { url, server } = await checkIpServer('<html>captive portal</html>');
    try {
      const bad: [Record<string, string>, RegExp][] = [
        [{ ...noKey, EC2_SSH_CIDR: 'my-laptop' }, /EC2_SSH_CIDR="my-laptop" is not an IPv4 address or CIDR/],
        [{ ...noKey, EC2_CHECKIP_URL: url }, /did not answer with an IPv4 address; set EC2_SSH_CIDR/],
        [{ ...noKey, EC2_SSH_CIDR: '198.51.100.7/32', EC2_AMI_OWNER: '999999999999' }, /999999999999/],
      ];
      for (const [env, refusal] of bad) {
        suite.t.writeEnv(env);
        const { provider, calls } = countingProvider({ discoverPublicIp });
        await expect(acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(refusal);
        expect(calls.filter((c) => /^(Run|Create|Import|Authorize)/.test(c))).toEqual([]);
        expect(await written()).toEqual(nothing);
      }
    } finally {
      server.close();
    }
    // The same acquire with good settings writes all three: the checks above looked in the right places.
    suite.t.writeEnv({ ...noKey, EC2_SSH_CIDR: '198.51.100.7/32' });
    await acquireOn(countingProvider().provider, cpu1, suite.t.ctx());
    expect(await written()).toEqual({ userData: true, projectKey: true, regions: { regions: [REGION] } });
  });

  test('without EC2_SSH_CIDR the caller address comes from EC2_CHECKIP_URL (a loopback server here), as a /32', async () => {
    const { url, server } = await checkIpServer('203.0.113.9');
    try {
      suite.t.writeEnv({ ...baseEnv, EC2_CHECKIP_URL: url });
      const { provider } = countingProvider({ discoverPublicIp });
      await acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts);
      expect(await ingress(suite.t.project.id)).toEqual(['tcp/22/203.0.113.9/32', 'udp/51820/203.0.113.9/32']);
    } finally {
      server.close();
    }
  });

  test('a checkip answer that is not an address is a one-line error naming the fix', async () => {
    const { url, server } = await checkIpServer('<html>captive portal</html>');
    try {
      suite.t.writeEnv({ ...baseEnv, EC2_CHECKIP_URL: url });
      const { provider } = countingProvider({ discoverPublicIp });
      await expect(acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts)).rejects.toThrow(/did not answer with an IPv4 address; set EC2_SSH_CIDR/);
    } finally {
      server.close();
    }
  });

  test('when the caller moves, the next acquire (even one that launches nothing) swaps the old rules for the new address', async () => {
    suite.t.writeEnv({ ...baseEnv, EC2_SSH_CIDR: '198.51.100.7' });
    const { provider } = countingProvider();
    await acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts);
    expect(await ingress(suite.t.project.id)).toEqual(['tcp/22/198.51.100.7/32', 'udp/51820/198.51.100.7/32']);
    suite.t.writeEnv({ ...baseEnv, EC2_SSH_CIDR: '192.0.2.0/28', OVERLAY_PORT: '51999' });
    await acquireOn(provider, cpu1, suite.t.ctx()).then((r) => r.hosts);
    expect(await ingress(suite.t.project.id)).toEqual(['tcp/22/192.0.2.0/28', 'udp/51999/192.0.2.0/28']);
  });
});
