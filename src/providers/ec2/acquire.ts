import path from 'node:path';
import { StartInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { PccError } from '../../core/errors.js';
import { writeOwnedFile } from '../../core/files.js';
import { configuredRegistryHost } from '../../images/registry.js';
import { renderCloudConfig, renderIgnition, type UserDataInput } from '../../render/userdata.js';
import type { HostRecord } from '../../state/schema.js';
import type { Spec } from '../types.js';
import type { AcquireRequest, ProviderContext } from '../types.js';
import { desiredIngress, discoverPublicIp, ensureKeyPair, ensureSecurityGroup, parseCallerCidr } from './access.js';
import type { AwsClients } from './clients.js';
import { DEFAULT_WAIT_DELAY, type Ec2Hooks } from './hooks.js';
import { instanceIds, launch, projectInstances, stateOf, waitFor, type LaunchPlan } from './instances.js';
import { describeInstanceType, loginUser, resolveImage, type ImageChoice, type InstanceTypeInfo, type ResolvedImage } from './lookup.js';
import { nvidiaProvisioning, type NvidiaProvisioning } from '../../gpu/flatcar.js';
import { recordInstances, rememberRegion } from './record.js';
import { ensureUserKey, type UserKey } from '../../core/user-key.js';
import { clientToken, kindHash, tagValue, TAG_REQUEST, type HostType } from './tags.js';

const ROLE = 'compute';

/** What an EC2 spec holds besides its key: enough to launch more of the same. */
export interface Ec2Spec {
  region: string;
  type: HostType;
  instanceType: string;
  spot: boolean;
  choice: ImageChoice;
  /** What AWS says about the instance type (GPUs), for the GPU user data. */
  info: InstanceTypeInfo;
  /** `--volume`: launched in the volume's zone (an EBS volume attaches only there). */
  zone?: string;
}

/**
 * What `acquire --type T [--instance-type I] [--spot] [--ami A]` means: the
 * instance type as AWS describes it (GPU-ness from GpuInfo), the image as
 * asked for, and the market. Its key is the `pcc:request` tag of the
 * instances it makes, so a re-run, or a run without `.pcc/`, counts them.
 */
export async function ec2Spec(aws: AwsClients, request: AcquireRequest, ctx: ProviderContext): Promise<Spec<Ec2Spec>> {
  const s = ctx.settings.values;
  // Its form is checked here, before anything is written or launched, --dry included.
  if (s.EC2_SSH_CIDR) parseCallerCidr(s.EC2_SSH_CIDR, ctx.settings.origin.EC2_SSH_CIDR ?? 'config/ec2.env');
  const instanceType = request.instanceType ?? (request.type === 'gpu' ? s.EC2_INSTANCE_TYPE_GPU : s.EC2_INSTANCE_TYPE_CPU);
  const info = await describeInstanceType(aws, instanceType);
  if (request.type === 'gpu' && info.gpus === 0) {
    throw new PccError(
      `instance type ${instanceType} has no GPU; set EC2_INSTANCE_TYPE_GPU in config/ec2.env or pass --instance-type, e.g. g5.xlarge`,
    );
  }
  const hostType: HostType = info.gpus > 0 ? 'gpu' : 'cpu';
  if (request.type === 'cpu' && hostType === 'gpu') {
    ctx.progress.warn(`${instanceType} has ${info.gpus} GPU(s) (${info.gpuName ?? 'GPU'}); its hosts join the gpu group`);
  }
  const spot = request.spot ?? s.EC2_SPOT;
  const choice = imageChoice(request, ctx, hostType, info.architecture);
  // A GPU Flatcar cannot drive is refused before any lookup or launch (checked again on the resolved image).
  if (hostType === 'gpu' && !choice.explicit && !choice.ssmParameter) flatcarNvidia(info, ctx);
  const zone = request.volume ? await volumeZone(request.volume.name, aws.region, ctx) : undefined;
  const key = kindHash({ project: ctx.project.id, type: hostType, instanceType, ami: choiceKey(choice), spot, ...(zone ? { zone } : {}) });
  return {
    key,
    label: `${instanceType}${spot ? ' (spot)' : ''} ${hostType} in ${zone ?? aws.region}`,
    detail: { region: aws.region, type: hostType, instanceType, spot, choice, info, ...(zone ? { zone } : {}) },
  };
}

/** The zone of a data volume, which must be in the region the hosts go to. */
async function volumeZone(name: string, region: string, ctx: ProviderContext): Promise<string> {
  const v = (await ctx.state.read()).volumes[name];
  if (!v?.zone) throw new PccError(`--volume ${name}: no EC2 volume of that name; see pcc volume ls`);
  if (v.region !== region) throw new PccError(`--volume ${name} lives in ${v.region}; acquire in that region (--region ${v.region})`);
  return v.zone;
}

/**
 * Launch `count` more of a spec, in one RunInstances with every tag set at
 * creation. The client token is made from what already runs of the spec, so
 * the same launch retried is one launch on AWS.
 */
export async function createInstances(
  aws: AwsClients,
  spec: Spec<Ec2Spec>,
  count: number,
  ctx: ProviderContext,
  hooks: Ec2Hooks,
): Promise<HostRecord[]> {
  const { project, settings, progress } = ctx;
  const s = settings.values;
  const { type: hostType, instanceType, spot, choice, info } = spec.detail;
  // Everything that may refuse comes before anything is written (the project key, the region list, the
  // user data): the image, its GPU driver, and the address SSH is opened to (not looked up for --dry).
  const image = await resolveImage(aws, choice);
  const nvidia = hostType === 'gpu' && image.flavour === 'flatcar' ? flatcarNvidia(info, ctx) : undefined;
  const cidr = ctx.dry ? undefined : await callerCidr(ctx, hooks);
  const key = await userKey(ctx);
  if (!ctx.dry) await rememberRegion(ctx, aws.region);
  const run: Run = { aws, ctx, privateKey: key.privateKey, delay: hooks.waitDelay ?? DEFAULT_WAIT_DELAY };

  const user = s.EC2_SSH_USER ?? loginUser(image.flavour);
  const userData = renderUserData(image, nvidia, key.publicKey, user, ctx);
  const userDataFile = path.join(project.stateDir, 'ec2', `user-data-${spec.key}.${image.flavour === 'flatcar' ? 'ign' : 'yaml'}`);
  await writeOwnedFile(userDataFile, userData);
  const plan = `${count} × ${instanceType}${spot ? ' (spot)' : ''} from ${image.imageId} (${image.name}) in ${aws.region}`;
  if (ctx.dry) {
    progress.note(`would launch ${plan}; user data in ${path.relative(project.root, userDataFile)}`);
    return [];
  }

  const { keyName, securityGroupId } = await ensureAccess(aws, ctx, key, cidr!);
  progress.note(`launching ${plan}; SSH open to ${cidr} only`);
  const mine = (await projectInstances(aws, project)).filter((i) => tagValue(i.Tags, TAG_REQUEST) === spec.key && stateOf(i) !== 'shutting-down');

  const launchPlan: LaunchPlan = {
    project,
    role: ROLE,
    type: hostType,
    kind: spec.key,
    count,
    imageId: image.imageId,
    instanceType,
    keyName,
    securityGroupId,
    userData,
    spot,
    user,
    ...(spec.detail.zone ? { zone: spec.detail.zone } : {}),
    ...(image.rootDeviceName ? { rootDeviceName: image.rootDeviceName } : {}),
    rootVolumeGb: Math.max(s.EC2_ROOT_VOLUME_GB, image.rootVolumeGb ?? 0),
    clientToken: clientToken({ kind: spec.key, count, existingIds: instanceIds(mine), securityGroupId }),
  };
  let launched = await launch(aws, launchPlan);
  const stale = launched.filter((i) => ['shutting-down', 'terminated'].includes(stateOf(i)));
  if (stale.length > 0) {
    // AWS answered an old launch with the same token (tokens outlive terminated instances): ask anew.
    const salt = instanceIds(stale).join();
    launchPlan.clientToken = clientToken({ kind: spec.key, count, existingIds: instanceIds(mine), securityGroupId, salt });
    launched = await launch(aws, launchPlan);
  }
  await hooks.afterRunInstances?.(instanceIds(launched));
  await recordInstances(ctx, aws.region, launched, key.privateKey);
  return settle(run, launched);
}

/**
 * Start stopped instances (waiting out any still stopping). The key pair and
 * the caller's address are applied again first: after a save at one place
 * and a resume at another, SSH must follow the user.
 */
export async function startInstances(aws: AwsClients, ids: readonly string[], ctx: ProviderContext, hooks: Ec2Hooks): Promise<HostRecord[]> {
  if (ids.length === 0) return [];
  if (ctx.dry) {
    ctx.progress.note(`would start ${ids.length} instance(s) in ${aws.region}: ${ids.join(', ')}`);
    return [];
  }
  const cidr = await callerCidr(ctx, hooks);
  const key = await userKey(ctx);
  const run: Run = { aws, ctx, privateKey: key.privateKey, delay: hooks.waitDelay ?? DEFAULT_WAIT_DELAY };
  await ensureAccess(aws, ctx, key, cidr);
  const found = (await projectInstances(aws, ctx.project)).filter((i) => ids.includes(i.InstanceId!));
  await waitFor(aws, instanceIds(found.filter((i) => stateOf(i) === 'stopping')), 'stopped', run.delay);
  const stopped = found.filter((i) => ['stopped', 'stopping'].includes(stateOf(i)));
  if (stopped.length > 0) await aws.ec2.send(new StartInstancesCommand({ InstanceIds: instanceIds(stopped) }));
  return settle(run, found);
}

/** The key pair and the security group, opened to where the user is now (stale rules revoked). */
export async function refreshAccess(aws: AwsClients, ctx: ProviderContext, hooks: Ec2Hooks): Promise<void> {
  const cidr = await callerCidr(ctx, hooks);
  await rememberRegion(ctx, aws.region);
  await ensureAccess(aws, ctx, await userKey(ctx), cidr);
}

/** The key the hosts authorize; made (and said so) where the user has none. */
async function userKey(ctx: ProviderContext): Promise<UserKey> {
  const key = await ensureUserKey(ctx.project, ctx.settings);
  if (key.generated) ctx.progress.note(`no key at ${ctx.settings.values.PCC_SSH_KEY}: made ${key.privateKey} for this project's hosts`);
  return key;
}

/** What the steps after the first look share. */
interface Run {
  aws: AwsClients;
  ctx: ProviderContext;
  privateKey: string;
  delay: { min: number; max: number };
}

/**
 * Record first (the instances exist and cost money), then wait until all
 * are running and record again: addresses are only final once running.
 */
async function settle(run: Run, instances: readonly Instance[]): Promise<HostRecord[]> {
  const { aws, ctx, privateKey, delay } = run;
  if (instances.length === 0 || ctx.dry) return [];
  await recordInstances(ctx, aws.region, instances, privateKey);
  const wanted = new Set(instanceIds(instances));
  await waitFor(aws, [...wanted], 'running', delay);
  const now = (await projectInstances(aws, ctx.project)).filter((i) => wanted.has(i.InstanceId!));
  return recordInstances(ctx, aws.region, now, privateKey);
}

function imageChoice(request: AcquireRequest, ctx: ProviderContext, type: HostType, architecture: ImageChoice['architecture']): ImageChoice {
  const s = ctx.settings.values;
  const explicit = request.ami ?? s.EC2_AMI;
  return {
    ...(explicit ? { explicit } : {}),
    ...(!explicit && type === 'gpu' && s.EC2_GPU_AMI === 'dlami' ? { ssmParameter: s.EC2_DLAMI_SSM_PARAMETER } : {}),
    owner: s.EC2_AMI_OWNER,
    namePattern: s.EC2_AMI_NAME,
    architecture,
  };
}

/** The image as asked for, not as resolved: a new Flatcar release must not look like a new kind of host. */
function choiceKey(choice: ImageChoice): string {
  if (choice.explicit) return choice.explicit;
  if (choice.ssmParameter) return `ssm:${choice.ssmParameter}`;
  return `lookup:${choice.owner}/${choice.namePattern}/${choice.architecture}`;
}

function renderUserData(image: ResolvedImage, nvidia: NvidiaProvisioning | undefined, publicKey: string, user: string, ctx: ProviderContext): string {
  const s = ctx.settings.values;
  const input: UserDataInput = {
    role: ROLE,
    sshAuthorizedKeys: [publicKey],
    ...(nvidia ? { nvidia } : {}),
    user,
    flatcar: image.flavour === 'flatcar',
    ...(configuredRegistryHost(s) ? { registryHost: configuredRegistryHost(s) } : {}),
  };
  const templates = ctx.project.cloudConfigDir;
  return image.flavour === 'flatcar' ? renderIgnition(input, templates) : renderCloudConfig(input, templates);
}

/** The driver flavour follows the instance type's GPU; a GPU too old for it is refused before anything launches. */
function flatcarNvidia(info: InstanceTypeInfo, ctx: ProviderContext): NvidiaProvisioning {
  if (info.architecture !== 'x86_64') {
    throw new PccError(`${info.instanceType} is ${info.architecture}: Flatcar's NVIDIA driver sysexts are built for amd64 only; pick an x86_64 GPU type or EC2_GPU_AMI=dlami`);
  }
  const s = ctx.settings.values;
  return nvidiaProvisioning(info.gpuName ?? '', s.NVIDIA_DRIVER_SERIES, s.NVIDIA_RUNTIME_VERSION, `${info.instanceType} (${info.gpuName ?? 'NVIDIA GPU'})`);
}

/** The key pair, and the security group opened to `cidr` (see callerCidr, asked before anything is written). */
async function ensureAccess(aws: AwsClients, ctx: ProviderContext, key: UserKey, cidr: string): Promise<{ keyName: string; securityGroupId: string }> {
  const keyName = await ensureKeyPair(aws, ctx.project, ROLE, key);
  const rules = desiredIngress(cidr, ctx.settings.values.OVERLAY_PORT);
  const securityGroupId = await ensureSecurityGroup(aws, ctx.project, ROLE, rules);
  return { keyName, securityGroupId };
}

async function callerCidr(ctx: ProviderContext, hooks: Ec2Hooks): Promise<string> {
  const s = ctx.settings.values;
  if (s.EC2_SSH_CIDR) return parseCallerCidr(s.EC2_SSH_CIDR, ctx.settings.origin.EC2_SSH_CIDR ?? 'config/ec2.env');
  const ip = await (hooks.discoverPublicIp ?? discoverPublicIp)(s.EC2_CHECKIP_URL);
  return parseCallerCidr(ip, s.EC2_CHECKIP_URL);
}
