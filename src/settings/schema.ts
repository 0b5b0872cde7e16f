import * as z from 'zod';
import { PROVIDERS } from '../providers/registry.js';
import { FLATCAR_DRIVER_SERIES } from '../gpu/generation.js';
import { DEFAULT_APPLY_TIMEOUT_S, DEFAULT_TIMEOUT_S } from '../remote/timeouts.js';

/**
 * Every setting pcc knows, by the env key a user writes in `config/*.env`.
 * Each entry carries its own fix text so that a bad value gets a one-line error.
 * Settings files refuse any other key (a typo, or a key in the wrong case);
 * playbook variables live in `config/vars.env` and may not use pcc's prefixes.
 */
const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'expected an IPv4 CIDR such as 10.213.0.0/24');
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const settingsSchema = z.object({
  // Engine
  PCC_CONCURRENCY: positiveInt.default(32),
  PCC_CONNECT_TIMEOUT_MS: positiveInt.default(10_000),
  PCC_CONNECT_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  PCC_TIMEOUT_S: positiveInt.default(DEFAULT_TIMEOUT_S),
  PCC_APPLY_TIMEOUT_S: positiveInt.default(DEFAULT_APPLY_TIMEOUT_S),
  PCC_SSH_KEY: z.string().default('~/.ssh/id_ed25519'),
  PCC_BUILDER: z.enum(['docker', 'buildah']).default('docker'),
  /** The spend cap: an acquire that would take the project's hourly price above it is refused. Unset: no cap. */
  PCC_MAX_USD_PER_HOUR: z
    .preprocess((v) => (v === '' ? undefined : v), z.coerce.number({ error: 'expected a price in USD per hour, such as 1.50' }).min(0, 'expected a price in USD per hour, such as 1.50').optional()),
  /** How often the autostop agent on a host checks whether it is idle (seconds). */
  PCC_AUTOSTOP_CHECK_S: z.coerce.number().int().min(5).max(3600).default(60),
  /** The autostop agent counts a host busy while its 1-minute load average is above this times its CPU count. */
  PCC_AUTOSTOP_LOAD_PER_CPU: z.coerce.number().positive().default(0.5),

  // Registry and the shared network
  REGISTRY_HOST: z.string().optional(),
  REGISTRY_PORT: port.default(5000),
  OVERLAY_SUBNET: cidr.default('10.214.0.0/24'),
  OVERLAY_PORT: port.default(51820),
  /** Docker Swarm carves its overlay networks (the `pcc` container network among them) from this pool, /24 each. */
  SWARM_ADDRESS_POOL: cidr.default('10.215.0.0/16'),
  /** Driver series of Flatcar's official NVIDIA sysexts; open or proprietary follows the GPU generation. */
  NVIDIA_DRIVER_SERIES: z.enum(FLATCAR_DRIVER_SERIES).default('570'),
  /** Version of the sysext-bakery nvidia-runtime sysext (the NVIDIA container toolkit) Flatcar GPU hosts fetch at first boot. */
  NVIDIA_RUNTIME_VERSION: z.string().regex(/^v\d+\.\d+\.\d+$/, 'expected a sysext-bakery nvidia-runtime release like v1.17.9').default('v1.17.9'),

  // local provider (systemd-nspawn)
  LOCAL_SUBNET: cidr.default('10.213.0.0/24'),
  /** The local provider's simulated internet (`pcc acquire local --site cloud`): "public" addresses outside the home NAT. */
  LOCAL_CLOUD_SUBNET: cidr.default('10.212.0.0/24'),
  LOCAL_BASE_CACHE: z.string().default('~/.cache/pcc/base'),
  LOCAL_MIRROR: z.string().optional(),
  /** The hosts' bridge; default `pcc-<subnet in hex>`, one per subnet. */
  LOCAL_BRIDGE: z.string().optional(),

  // vagrant provider
  VAGRANT_BOX: z.string().default('flatcar-stable'),
  VAGRANT_BOX_URL: z.string().default('https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json'),
  VAGRANT_CPUS: positiveInt.default(2),
  VAGRANT_MEMORY: positiveInt.default(2048),
  VAGRANT_CONTROLLER_IP: z.string().default('192.168.56.10'),
  VAGRANT_SUBNET: cidr.default('192.168.56.0/24'),

  // ec2 provider
  /** Unset: AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region, else us-east-1 (see load.ts). */
  EC2_REGION: z.string().default('us-east-1'),
  /** The AWS profile (~/.aws/config and credentials) to use, per project; also read from the environment. */
  AWS_PROFILE: z.string().optional(),
  AWS_REGION: z.string().optional(),
  AWS_DEFAULT_REGION: z.string().optional(),
  EC2_INSTANCE_TYPE_CPU: z.string().default('c6i.xlarge'),
  EC2_INSTANCE_TYPE_GPU: z.string().default('g5.xlarge'),
  EC2_AMI: z.string().optional(),
  EC2_AMI_OWNER: z.string().default('075585003325'),
  EC2_AMI_NAME: z.string().default('Flatcar-stable-*-hvm'),
  EC2_GPU_AMI: z.enum(['flatcar', 'dlami']).default('flatcar'),
  EC2_DLAMI_SSM_PARAMETER: z
    .string()
    .default('/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id'),
  EC2_SPOT: bool.default(false),
  EC2_SSH_CIDR: z.string().optional(),
  EC2_CHECKIP_URL: z.string().url().default('https://checkip.amazonaws.com'),
  EC2_SSH_USER: z.string().optional(),
  EC2_ROOT_VOLUME_GB: positiveInt.default(30),

  // Secrets (config/.private only)
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
});

export type SettingsValues = z.infer<typeof settingsSchema>;

/** Keys whose values are never printed, wherever they come from. */
export const secretKeys: ReadonlySet<string> = new Set(['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID']);

/** A key with one of these prefixes must be a known setting: anything else is a typo. */
export const reservedPrefixes = [
  'PCC_',
  'REGISTRY_',
  'OVERLAY_',
  'SWARM_',
  ...PROVIDERS.flatMap((p): string[] => ('settingsPrefix' in p ? [p.settingsPrefix] : [])),
  'AWS_',
  'NVIDIA_',
];
