import path from 'node:path';
import { StartInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { PccError } from '../../core/errors.js';
import { writeOwnedFile } from '../../core/files.js';
import { renderCloudConfig, renderIgnition, type UserDataInput } from '../../render/userdata.js';
import type { HostRecord } from '../../state/schema.js';
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

/**
 * `acquire` makes the project have what was asked for, and no more:
 * - saved (stopped) instances exist: start them, launch nothing;
 * - else count the live instances of this kind (by the `pcc:request` tag)
 *   and launch only the missing ones, in one RunInstances.
 * So a retry, a re-run after a crash, or a run without `.pcc/state.json`
 * adopts what exists instead of paying twice.
 */
export async function acquire(
  aws: AwsClients,
  request: AcquireRequest,
  ctx: ProviderContext,
  hooks: Ec2Hooks,
): Promise<HostRecord[]> {
  const { project, settings, progress } = ctx;
  const s = settings.values;
  const key = await ensureUserKey(project, settings);
  const run: Run = { aws, ctx, privateKey: key.privateKey, delay: hooks.waitDelay ?? DEFAULT_WAIT_DELAY };
  if (key.generated) progress.note(`no key at ${s.PCC_SSH_KEY}: made ${key.privateKey} for this project's hosts`);
  if (!ctx.dry) await rememberRegion(ctx, aws.region);

  // Every path that leaves hosts running re-applies the key pair and the
  // caller's address: after a save at one place and a resume at another,
  // SSH must follow the user.
  const access = () => ensureAccess(aws, ctx, key, hooks);

  const existing = await projectInstances(aws, project.name);
  const saved = existing.filter((i) => ['stopped', 'stopping'].includes(stateOf(i)));
  if (saved.length > 0) {
    if (!ctx.dry) await access();
    return resumeSaved(run, saved);
  }

  const instanceType = request.instanceType ?? (request.type === 'gpu' ? s.EC2_INSTANCE_TYPE_GPU : s.EC2_INSTANCE_TYPE_CPU);
  const info = await describeInstanceType(aws, instanceType);
  if (request.type === 'gpu' && info.gpus === 0) {
    throw new PccError(
      `instance type ${instanceType} has no GPU; set EC2_INSTANCE_TYPE_GPU in config/ec2.env or pass --instance-type, e.g. g5.xlarge`,
    );
  }
  const hostType: HostType = info.gpus > 0 ? 'gpu' : 'cpu';
  if (request.type === 'cpu' && hostType === 'gpu') {
    progress.warn(`${instanceType} has ${info.gpus} GPU(s) (${info.gpuName ?? 'GPU'}); its hosts join the gpu group`);
  }
  const spot = request.spot ?? s.EC2_SPOT;
  const choice = imageChoice(request, ctx, hostType, info.architecture);
  // A GPU Flatcar cannot drive is refused before any lookup or launch (checked again on the resolved image).
  if (hostType === 'gpu' && !choice.explicit && !choice.ssmParameter) flatcarNvidia(info, ctx);
  const kind = kindHash({ project: project.name, type: hostType, instanceType, ami: choiceKey(choice), spot });

  const mine = existing.filter((i) => tagValue(i.Tags, TAG_REQUEST) === kind && ['pending', 'running'].includes(stateOf(i)));
  const missing = request.resumeOnly ? 0 : request.count - mine.length;
  if (missing <= 0) {
    progress.note(`${mine.length} ${hostType} host(s) of ${instanceType} already exist; nothing to launch (raise --count for more)`);
    if (!ctx.dry) await access();
    return settle(run, mine);
  }

  const image = await resolveImage(aws, choice);
  const user = s.EC2_SSH_USER ?? loginUser(image.flavour);
  const userData = renderUserData(image, hostType === 'gpu' ? info : undefined, key.publicKey, user, ctx);
  const userDataFile = path.join(project.stateDir, 'ec2', `user-data-${kind}.${image.flavour === 'flatcar' ? 'ign' : 'yaml'}`);
  await writeOwnedFile(userDataFile, userData);
  const plan = `${missing} × ${instanceType}${spot ? ' (spot)' : ''} from ${image.imageId} (${image.name}) in ${aws.region}`;
  if (ctx.dry) {
    progress.note(`would launch ${plan}; user data in ${path.relative(project.root, userDataFile)}`);
    return [];
  }

  const { keyName, securityGroupId, cidr } = await access();
  progress.note(`launching ${plan}; SSH open to ${cidr} only`);

  const launchPlan: LaunchPlan = {
    project: project.name,
    role: ROLE,
    type: hostType,
    kind,
    count: missing,
    imageId: image.imageId,
    instanceType,
    keyName,
    securityGroupId,
    userData,
    spot,
    user,
    ...(image.rootDeviceName ? { rootDeviceName: image.rootDeviceName } : {}),
    rootVolumeGb: Math.max(s.EC2_ROOT_VOLUME_GB, image.rootVolumeGb ?? 0),
    clientToken: clientToken({ kind, count: missing, existingIds: instanceIds(mine), securityGroupId }),
  };
  let launched = await launch(aws, launchPlan);
  const stale = launched.filter((i) => ['shutting-down', 'terminated'].includes(stateOf(i)));
  if (stale.length > 0) {
    // AWS answered an old launch with the same token (tokens outlive terminated instances): ask anew.
    const salt = instanceIds(stale).join();
    launchPlan.clientToken = clientToken({ kind, count: missing, existingIds: instanceIds(mine), securityGroupId, salt });
    launched = await launch(aws, launchPlan);
  }
  await hooks.afterRunInstances?.(instanceIds(launched));
  await recordInstances(ctx, aws.region, launched, key.privateKey);
  return settle(run, [...mine, ...launched]);
}

/** What the steps after the first look share. */
interface Run {
  aws: AwsClients;
  ctx: ProviderContext;
  privateKey: string;
  delay: { min: number; max: number };
}

/** Start stopped instances (waiting out any still stopping), then settle them as running. */
async function resumeSaved(run: Run, saved: readonly Instance[]): Promise<HostRecord[]> {
  const { aws, ctx, delay } = run;
  const savedIds = instanceIds(saved);
  if (ctx.dry) {
    ctx.progress.note(`would start ${savedIds.length} saved instance(s): ${savedIds.join(', ')}`);
    return [];
  }
  ctx.progress.note(`resuming ${savedIds.length} saved instance(s); nothing new is launched while saved ones exist`);
  await waitFor(aws, instanceIds(saved.filter((i) => stateOf(i) === 'stopping')), 'stopped', delay);
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: savedIds }));
  return settle(run, saved);
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
  const now = (await projectInstances(aws, ctx.project.name)).filter((i) => wanted.has(i.InstanceId!));
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

function renderUserData(image: ResolvedImage, gpu: InstanceTypeInfo | undefined, publicKey: string, user: string, ctx: ProviderContext): string {
  const s = ctx.settings.values;
  const input: UserDataInput = {
    role: ROLE,
    sshAuthorizedKeys: [publicKey],
    ...(gpu && image.flavour === 'flatcar' ? { nvidia: flatcarNvidia(gpu, ctx) } : {}),
    user,
    flatcar: image.flavour === 'flatcar',
    ...(s.REGISTRY_HOST ? { registryHost: `${s.REGISTRY_HOST}:${s.REGISTRY_PORT}` } : {}),
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

async function ensureAccess(
  aws: AwsClients,
  ctx: ProviderContext,
  key: UserKey,
  hooks: Ec2Hooks,
): Promise<{ keyName: string; securityGroupId: string; cidr: string }> {
  const cidr = await callerCidr(ctx, hooks);
  const keyName = await ensureKeyPair(aws, ctx.project.name, ROLE, key);
  const rules = desiredIngress(cidr, ctx.settings.values.OVERLAY_PORT);
  const securityGroupId = await ensureSecurityGroup(aws, ctx.project.name, ROLE, rules);
  return { keyName, securityGroupId, cidr };
}

async function callerCidr(ctx: ProviderContext, hooks: Ec2Hooks): Promise<string> {
  const s = ctx.settings.values;
  if (s.EC2_SSH_CIDR) return parseCallerCidr(s.EC2_SSH_CIDR, ctx.settings.origin.EC2_SSH_CIDR ?? 'config/ec2.env');
  const ip = await (hooks.discoverPublicIp ?? discoverPublicIp)(s.EC2_CHECKIP_URL);
  return parseCallerCidr(ip, s.EC2_CHECKIP_URL);
}
