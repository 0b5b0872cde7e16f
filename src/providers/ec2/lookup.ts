import { DescribeImagesCommand, DescribeInstanceTypesCommand, type Image, type InstanceTypeInfo as InstanceTypeInfoSdk, type _InstanceType } from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { PccError } from '../../core/errors.js';
import { naturalCompare } from '../../core/natural-order.js';
import type { AwsClients } from './clients.js';

export interface InstanceTypeInfo {
  instanceType: string;
  gpus: number;
  gpuName?: string;
  /** The image architecture to look for: x86_64, or arm64 for Graviton types. */
  architecture: 'x86_64' | 'arm64';
}

/** GPU-ness comes from AWS (GpuInfo), not from a list of type names that ages. */
export async function describeInstanceType(aws: AwsClients, instanceType: string): Promise<InstanceTypeInfo> {
  let types: InstanceTypeInfoSdk[] | undefined;
  try {
    types = (await aws.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }))).InstanceTypes;
  } catch (err) {
    if ((err as Error).name === 'InvalidInstanceType') types = [];
    else throw err;
  }
  const info = types?.[0];
  if (!info) {
    throw new PccError(
      `instance type '${instanceType}' does not exist in ${aws.region}; fix --instance-type or EC2_INSTANCE_TYPE_CPU/GPU in config/ec2.env`,
    );
  }
  const gpus = (info.GpuInfo?.Gpus ?? []).reduce((n, g) => n + (g.Count ?? 0), 0);
  const first = info.GpuInfo?.Gpus?.[0];
  const archs = info.ProcessorInfo?.SupportedArchitectures ?? [];
  return {
    instanceType,
    gpus,
    architecture: archs.includes('x86_64') || !archs.includes('arm64') ? 'x86_64' : 'arm64',
    ...(first ? { gpuName: [first.Manufacturer, first.Name].filter(Boolean).join(' ') } : {}),
  };
}

/** Which OS family an image is: it decides the login user and the user-data format. */
export type ImageFlavour = 'flatcar' | 'ubuntu' | 'other';

export interface ResolvedImage {
  imageId: string;
  name: string;
  flavour: ImageFlavour;
  rootDeviceName?: string;
  rootVolumeGb?: number;
  /** How it was found, for the plan and error messages. */
  source: string;
}

export interface ImageChoice {
  /** --ami or EC2_AMI: no lookup. */
  explicit?: string;
  /** Use the Deep Learning AMI named by this SSM parameter. */
  ssmParameter?: string;
  owner: string;
  namePattern: string;
  architecture: 'x86_64' | 'arm64';
}

export async function resolveImage(aws: AwsClients, choice: ImageChoice): Promise<ResolvedImage> {
  if (choice.explicit) {
    const image = await describeOne(aws, choice.explicit, '--ami / EC2_AMI');
    return toResolved(image, '--ami / EC2_AMI');
  }
  if (choice.ssmParameter) {
    const id = await readSsmParameter(aws, choice.ssmParameter);
    const image = await describeOne(aws, id, `SSM parameter ${choice.ssmParameter}`);
    return toResolved(image, `SSM parameter ${choice.ssmParameter}`);
  }
  const out = await aws.ec2.send(
    new DescribeImagesCommand({
      Owners: [choice.owner],
      Filters: [
        { Name: 'name', Values: [choice.namePattern] },
        { Name: 'state', Values: ['available'] },
        { Name: 'architecture', Values: [choice.architecture] },
      ],
    }),
  );
  const newest = newestImage(out.Images ?? []);
  if (!newest) {
    throw new PccError(
      `no ${choice.architecture} image named '${choice.namePattern}' from owner ${choice.owner} in ${aws.region}; fix EC2_AMI_OWNER / EC2_AMI_NAME in config/ec2.env or pass --ami`,
    );
  }
  return toResolved(newest, `newest '${choice.namePattern}' from ${choice.owner}`);
}

/** Newest by creation date; equal dates (common for one release) fall back to the version in the name. */
export function newestImage(images: readonly Image[]): Image | undefined {
  return [...images].sort((a, b) => {
    const byDate = (b.CreationDate ?? '').localeCompare(a.CreationDate ?? '');
    return byDate !== 0 ? byDate : naturalCompare(b.Name ?? '', a.Name ?? '');
  })[0];
}

export function imageFlavour(name: string): ImageFlavour {
  if (/flatcar/i.test(name)) return 'flatcar';
  if (/ubuntu|deep learning/i.test(name)) return 'ubuntu';
  return 'other';
}

export function loginUser(flavour: ImageFlavour): string {
  return flavour === 'flatcar' ? 'core' : flavour === 'ubuntu' ? 'ubuntu' : 'ec2-user';
}

async function readSsmParameter(aws: AwsClients, name: string): Promise<string> {
  try {
    const out = await aws.ssm.send(new GetParameterCommand({ Name: name }));
    const value = out.Parameter?.Value;
    if (value && /^ami-[0-9a-f]+$/.test(value)) return value;
    throw new PccError(`SSM parameter ${name} does not hold an AMI id; fix EC2_DLAMI_SSM_PARAMETER in config/ec2.env`);
  } catch (err) {
    if ((err as Error).name === 'ParameterNotFound') {
      throw new PccError(`SSM parameter ${name} does not exist in ${aws.region}; fix EC2_DLAMI_SSM_PARAMETER in config/ec2.env`);
    }
    throw err;
  }
}

async function describeOne(aws: AwsClients, imageId: string, from: string): Promise<Image> {
  let images: Image[] = [];
  try {
    images = (await aws.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images ?? [];
  } catch (err) {
    if (!/^InvalidAMIID\./.test((err as Error).name)) throw err;
  }
  const image = images[0];
  if (!image) throw new PccError(`AMI ${imageId} (from ${from}) does not exist in ${aws.region}; pass an AMI id of that region`);
  return image;
}

function toResolved(image: Image, source: string): ResolvedImage {
  const name = image.Name ?? image.ImageId!;
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName);
  return {
    imageId: image.ImageId!,
    name,
    flavour: imageFlavour(`${name} ${image.Description ?? ''}`),
    ...(image.RootDeviceName ? { rootDeviceName: image.RootDeviceName } : {}),
    ...(root?.Ebs?.VolumeSize ? { rootVolumeGb: root.Ebs.VolumeSize } : {}),
    source,
  };
}
