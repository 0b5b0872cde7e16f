import { describe, expect, it } from 'vitest';
import type { Fact } from '../../../src/facts/fact.js';
import type { ClusterPlan } from '../../../src/fleet/cluster.js';
import { ec2Peer, testClusterPlan } from '../../fixtures/cluster-plan.js';
import { hostVolumes, volumeLabel, volumeUuid } from '../../../src/fleet/volumes.js';
import type { Operation } from '../../../src/ops/operation.js';
import type { HostContext } from '../../../src/playbook/define.js';
import { ebsDeviceMatch } from '../../../src/providers/ec2/volume-device.js';
import { emptyState, type HostRecord } from '../../../src/state/schema.js';
import setupPlaybook from '../../../playbooks/setup.js';

const host = (name: string, provider: HostRecord['provider']): HostRecord => ({
  name,
  address: '192.0.2.10',
  port: 22,
  user: 'root',
  provider,
  groups: [provider, 'cpu'],
  createdAt: '2026-12-01T00:00:00Z',
  meta: {},
});

function stateWith() {
  const state = emptyState();
  state.hosts.cpu1 = host('cpu1', 'ec2');
  state.hosts.local1 = host('local1', 'local');
  state.volumes.data = { name: 'data', provider: 'ec2', sizeGiB: 10, createdAt: 'x', providerId: 'vol-0123456789abcdef0', zone: 'us-east-1a', attachedTo: 'cpu1', mountPoint: '/data' };
  state.volumes.scratch = { name: 'scratch', provider: 'local', sizeGiB: 1, createdAt: 'x', providerId: '/p/.pcc/volumes/scratch', attachedTo: 'local1', mountPoint: '/scratch' };
  state.volumes.spare = { name: 'spare', provider: 'ec2', sizeGiB: 1, createdAt: 'x', providerId: 'vol-0aaaaaaaaaaaaaaaa' };
  return state;
}

describe('which volumes setup formats and mounts (EBS device: fixture, no block device here)', () => {
  it('the EBS volume attached to an EC2 host, with how it shows up there; not the local bind, not an unattached one', async () => {
    expect(await hostVolumes(stateWith())).toEqual([
      {
        host: 'cpu1',
        name: 'data',
        mountPoint: '/data',
        device: {
          what: 'volume data (vol-0123456789abcdef0)',
          serial: 'vol0123456789abcdef0',
          byId: ['nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0'],
          names: ['xvdf', 'sdf'],
        },
        label: 'pcc-data',
        uuid: '1be27088-edc7-510c-8a5b-c852167fc57a',
      },
    ]);
  });

  it("the filesystem UUID is RFC 9562's version 5 of the volume id (the value Python's uuid.uuid5 gives); the label fits ext4's 16 bytes", () => {
    // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'urn:pcc:volume:vol-0123456789abcdef0'))"
    expect(volumeUuid('vol-0123456789abcdef0')).toBe('1be27088-edc7-510c-8a5b-c852167fc57a');
    expect(volumeUuid('vol-0aaaaaaaaaaaaaaaa')).not.toBe(volumeUuid('vol-0123456789abcdef0'));
    expect(volumeLabel('data')).toBe('pcc-data');
    expect(volumeLabel('a-forty-character-volume-name-0123456789')).toBe('pcc-a-forty-char');
    expect(ebsDeviceMatch({ name: 'x', provider: 'ec2', sizeGiB: 1, createdAt: 'x' })).toBeUndefined();
  });
});

describe('the setup playbook adds the volume ops on the EC2 host only', () => {
  const plan = testClusterPlan([
    ec2Peer('cpu1', '10.214.0.2'),
    { name: 'local1', address: '10.214.0.3', site: 'home', siteEndpoint: '10.213.0.3:51820', publicKey: 'p2=', privateKey: 'k2=' },
  ]);

  async function opsOn(record: HostRecord, full: ClusterPlan): Promise<string[]> {
    const added: Operation[] = [];
    const answers: Record<string, unknown> = {
      'os-release': { id: 'flatcar', idLike: [], versionId: '4230.2.0', prettyName: 'Flatcar' },
      'nfs-client': true,
      gpu: { nvidia: false, devices: [], gpus: [], driverLoaded: false },
      'cpu-flags': [],
      'gpu-host': { dockerInstalled: true, nvidiaCtk: false, extensions: [] },
    };
    const ctx: HostContext = {
      name: record.name,
      record,
      vars: {},
      add: (op) => added.push(op),
      fact: async <T,>(fact: Fact<T>) => {
        if (!(fact.key in answers)) throw new Error(`unexpected fact ${fact.key}`);
        return answers[fact.key] as T;
      },
      output: () => undefined,
    };
    await setupPlaybook.run(ctx, full);
    return added.map((o) => o.name);
  }

  it('cpu1 formats and mounts volume data after the rest of its setup; local1, whose volume is a bind, gets neither', async () => {
    const full = { ...plan, volumes: await hostVolumes(stateWith()) };
    const ec2 = await opsOn(host('cpu1', 'ec2'), full);
    expect(ec2.slice(-2)).toEqual(['filesystem on volume data (vol-0123456789abcdef0)', 'mount volume data (vol-0123456789abcdef0) at /data']);
    const local = await opsOn(host('local1', 'local'), full);
    expect(local.filter((n) => n.includes('volume'))).toEqual([]);
    expect(local).toEqual(ec2.slice(0, -2));
  });
});
