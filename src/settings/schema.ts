import * as z from '../core/zod.js';
import { PROVIDERS } from '../providers/registry.js';
import { FLATCAR_DRIVER_SERIES } from '../gpu/generation.js';
import { DEFAULT_APPLY_TIMEOUT_S, DEFAULT_TIMEOUT_S } from '../remote/timeouts.js';

/**
 * Every setting pcc knows, by the env key a user writes in `config/*.env`.
 * Each entry carries its own fix text so that a bad value gets a one-line error.
 * Settings files refuse any other key (a typo, or a key in the wrong case);
 * playbook variables live in `config/vars.env` and may not use pcc's prefixes.
 */
const port = z.coerce.number().check(z.int(), z.minimum(1), z.maximum(65535));
const positiveInt = z.coerce.number().check(z.int(), z.minimum(1));
const cidr = z.string().check(z.regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'expected an IPv4 CIDR such as 10.213.0.0/24'));
const truthy = ['true', 'false', '1', '0', 'yes', 'no'] as const;
const bool = z.pipe(
  z.enum(truthy),
  z.transform((v: (typeof truthy)[number]) => v === 'true' || v === '1' || v === 'yes'),
);

export const settingsSchema = z.object({
  // Engine
  PCC_CONCURRENCY: z._default(positiveInt, 32),
  PCC_CONNECT_TIMEOUT_MS: z._default(positiveInt, 10_000),
  PCC_CONNECT_RETRIES: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(10)), 3),
  PCC_TIMEOUT_S: z._default(positiveInt, DEFAULT_TIMEOUT_S),
  PCC_APPLY_TIMEOUT_S: z._default(positiveInt, DEFAULT_APPLY_TIMEOUT_S),
  PCC_SSH_KEY: z._default(z.string(), '~/.ssh/id_ed25519'),
  PCC_BUILDER: z._default(z.enum(['docker', 'buildah']), 'docker'),
  /** The spend cap: an acquire that would take the project's hourly price above it is refused. Unset: no cap. */
  PCC_MAX_USD_PER_HOUR: z.preprocess(
    (v: unknown) => (v === '' ? undefined : v),
    z.optional(z.coerce.number({ error: 'expected a price in USD per hour, such as 1.50' }).check(z.minimum(0, 'expected a price in USD per hour, such as 1.50'))),
  ),
  /** On a terminal, an acquire that would take the project's hourly price above this asks first. Unset: never asks. */
  PCC_CONFIRM_USD_PER_HOUR: z.preprocess(
    (v: unknown) => (v === '' ? undefined : v),
    z._default(z.coerce.number({ error: 'expected a price in USD per hour, such as 0.50' }).check(z.minimum(0, 'expected a price in USD per hour, such as 0.50')), 0.5),
  ),
  /** How often the autostop agent on a host checks whether it is idle (seconds). */
  PCC_AUTOSTOP_CHECK_S: z._default(z.coerce.number().check(z.int(), z.minimum(5), z.maximum(3600)), 60),
  /** The autostop agent counts a host busy while its 1-minute load average is above this times its CPU count. */
  PCC_AUTOSTOP_LOAD_PER_CPU: z._default(z.coerce.number().check(z.positive()), 0.5),

  // Registry and the shared network
  REGISTRY_HOST: z.optional(z.string()),
  REGISTRY_PORT: z._default(port, 5000),
  OVERLAY_SUBNET: z._default(cidr, '10.214.0.0/24'),
  OVERLAY_PORT: z._default(port, 51820),
  /** Docker Swarm carves its overlay networks (the `pcc` container network among them) from this pool, /24 each. */
  SWARM_ADDRESS_POOL: z._default(cidr, '10.215.0.0/16'),
  /** Driver series of Flatcar's official NVIDIA sysexts; open or proprietary follows the GPU generation. */
  NVIDIA_DRIVER_SERIES: z._default(z.enum(FLATCAR_DRIVER_SERIES), '570'),
  /** Version of the sysext-bakery nvidia-runtime sysext (the NVIDIA container toolkit) Flatcar GPU hosts fetch at first boot. */
  NVIDIA_RUNTIME_VERSION: z._default(z.string().check(z.regex(/^v\d+\.\d+\.\d+$/, 'expected a sysext-bakery nvidia-runtime release like v1.17.9')), 'v1.17.9'),

  // local provider (systemd-nspawn)
  LOCAL_SUBNET: z._default(cidr, '10.213.0.0/24'),
  /** The local provider's simulated internet (`pcc acquire local --site cloud`): "public" addresses outside the home NAT. */
  LOCAL_CLOUD_SUBNET: z._default(cidr, '10.212.0.0/24'),
  LOCAL_BASE_CACHE: z._default(z.string(), '~/.cache/pcc/base'),
  LOCAL_MIRROR: z.optional(z.string()),
  /** The hosts' bridge; default `pcc-<subnet in hex>`, one per subnet. */
  LOCAL_BRIDGE: z.optional(z.string()),

  // vagrant provider
  VAGRANT_BOX: z._default(z.string(), 'flatcar-stable'),
  VAGRANT_BOX_URL: z._default(z.string(), 'https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json'),
  VAGRANT_CPUS: z._default(positiveInt, 2),
  VAGRANT_MEMORY: z._default(positiveInt, 2048),
  VAGRANT_CONTROLLER_IP: z._default(z.string(), '192.168.56.10'),
  VAGRANT_SUBNET: z._default(cidr, '192.168.56.0/24'),

  // ec2 provider
  /** Unset: AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region, else us-east-1 (see load.ts). */
  EC2_REGION: z._default(z.string(), 'us-east-1'),
  /** The AWS profile (~/.aws/config and credentials) to use, per project; also read from the environment. */
  AWS_PROFILE: z.optional(z.string()),
  AWS_REGION: z.optional(z.string()),
  AWS_DEFAULT_REGION: z.optional(z.string()),
  EC2_INSTANCE_TYPE_CPU: z._default(z.string(), 'c6i.xlarge'),
  EC2_INSTANCE_TYPE_GPU: z._default(z.string(), 'g5.xlarge'),
  EC2_AMI: z.optional(z.string()),
  EC2_AMI_OWNER: z._default(z.string(), '075585003325'),
  EC2_AMI_NAME: z._default(z.string(), 'Flatcar-stable-*-hvm'),
  EC2_GPU_AMI: z._default(z.enum(['flatcar', 'dlami']), 'flatcar'),
  EC2_DLAMI_SSM_PARAMETER: z._default(z.string(), '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id'),
  EC2_SPOT: z._default(bool, false),
  EC2_SSH_CIDR: z.optional(z.string()),
  EC2_CHECKIP_URL: z._default(z.string().check(z.url()), 'https://checkip.amazonaws.com'),
  EC2_SSH_USER: z.optional(z.string()),
  EC2_ROOT_VOLUME_GB: z._default(positiveInt, 30),
  /** How long acquire and resume wait for a new or started host to answer on SSH, in seconds. Unset: by image (providers/ec2/boot-wait.ts). */
  EC2_SSH_WAIT_S: z.preprocess(
    (v: unknown) => (v === '' ? undefined : v),
    z.optional(z.coerce.number({ error: 'expected whole seconds, such as 600' }).check(z.int('expected whole seconds, such as 600'), z.minimum(1, 'expected whole seconds, such as 600'))),
  ),

  // Secrets (config/.private only)
  AWS_ACCESS_KEY_ID: z.optional(z.string()),
  AWS_SECRET_ACCESS_KEY: z.optional(z.string()),
  AWS_SESSION_TOKEN: z.optional(z.string()),
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
