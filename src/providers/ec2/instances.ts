import {
  paginateDescribeInstances,
  RunInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { PccError } from '../../core/errors.js';
import type { AwsClients } from './clients.js';
import { LIVE_STATES, projectFilter, projectTags, tagSpecs, TAG_REQUEST, TAG_ROLE, TAG_TYPE, TAG_USER, type HostType, type ProjectIdentity, type Role } from './tags.js';

/** Every live (not terminated) instance of the project in one region: one paginated call, whatever N. */
export async function projectInstances(aws: AwsClients, project: Pick<ProjectIdentity, 'id'>): Promise<Instance[]> {
  const out: Instance[] = [];
  const pages = paginateDescribeInstances(
    { client: aws.ec2, pageSize: 1000 },
    { Filters: [projectFilter(project), { Name: 'instance-state-name', Values: LIVE_STATES }] },
  );
  for await (const page of pages) {
    for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
  }
  return out;
}

export function stateOf(i: Instance): string {
  return i.State?.Name ?? 'unknown';
}

export interface LaunchPlan {
  project: ProjectIdentity;
  role: Role;
  type: HostType;
  kind: string;
  count: number;
  imageId: string;
  instanceType: string;
  keyName: string;
  securityGroupId: string;
  userData: string;
  spot: boolean;
  user: string;
  rootDeviceName?: string;
  rootVolumeGb?: number;
  /** Launch in this availability zone (a data volume's). */
  zone?: string;
  clientToken: string;
}

/**
 * One RunInstances for all N (MinCount = MaxCount = N: all or nothing), with
 * every tag set at creation, so no instance exists even for a moment without
 * the tags that the retry lookup and the destroy sweep rely on.
 */
export function runInstancesInput(plan: LaunchPlan): RunInstancesCommandInput {
  const tags = {
    Name: `pcc-${plan.project.name}-${plan.type}`,
    ...projectTags(plan.project),
    [TAG_ROLE]: plan.role,
    [TAG_TYPE]: plan.type,
    [TAG_REQUEST]: plan.kind,
    [TAG_USER]: plan.user,
  };
  const input: RunInstancesCommandInput = {
    ImageId: plan.imageId,
    InstanceType: plan.instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: plan.count,
    MaxCount: plan.count,
    KeyName: plan.keyName,
    SecurityGroupIds: [plan.securityGroupId],
    UserData: Buffer.from(plan.userData).toString('base64'),
    ClientToken: plan.clientToken,
    // IMDSv2 only (a session token, no plain GETs). Hop limit 1: pcc gives its
    // instances no IAM role, so no container on them needs the metadata service.
    MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    TagSpecifications: tagSpecs(plan.spot ? ['instance', 'volume', 'spot-instances-request'] : ['instance', 'volume'], tags),
  };
  if (plan.rootDeviceName && plan.rootVolumeGb) {
    input.BlockDeviceMappings = [
      { DeviceName: plan.rootDeviceName, Ebs: { VolumeSize: plan.rootVolumeGb, VolumeType: 'gp3', DeleteOnTermination: true } },
    ];
  }
  if (plan.zone) input.Placement = { AvailabilityZone: plan.zone };
  if (plan.spot) {
    // Persistent + stop: the only spot kind that `pcc save` can stop and resume.
    input.InstanceMarketOptions = {
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' },
    };
  }
  return input;
}

export async function launch(aws: AwsClients, plan: LaunchPlan): Promise<Instance[]> {
  const out = await aws.ec2.send(new RunInstancesCommand(runInstancesInput(plan)));
  return out.Instances ?? [];
}

type Waiter = typeof waitUntilInstanceRunning;
const waiters: Record<'running' | 'stopped' | 'terminated', { fn: Waiter; seconds: number }> = {
  running: { fn: waitUntilInstanceRunning, seconds: 600 },
  stopped: { fn: waitUntilInstanceStopped, seconds: 900 },
  terminated: { fn: waitUntilInstanceTerminated, seconds: 900 },
};

/** The SDK waiter (one DescribeInstances per poll for all ids), with a one-line error. */
export async function waitFor(
  aws: AwsClients,
  ids: readonly string[],
  state: keyof typeof waiters,
  delay: { min: number; max: number },
): Promise<void> {
  if (ids.length === 0) return;
  const { fn, seconds } = waiters[state];
  try {
    await fn({ client: aws.ec2, maxWaitTime: seconds, minDelay: delay.min, maxDelay: delay.max }, { InstanceIds: [...ids] });
  } catch (err) {
    if ((err as { pccOperation?: string }).pccOperation) throw err;
    const reason = /TIMEOUT/.test((err as Error).message) ? `within ${seconds} s` : '(one entered a failed state)';
    throw new PccError(`instances ${ids.join(', ')} did not become ${state} ${reason}; see pcc status, and pcc destroy ec2 to clean up`);
  }
}

export function instanceIds(instances: readonly Instance[]): string[] {
  return instances.map((i) => i.InstanceId!);
}
