import { settingsSchema, type SettingsValues } from './schema.js';
import { PROVIDERS } from '../providers/registry.js';

/**
 * What each setting means, and which example file lists it. The
 * `config/*.env.example` files are rendered from this and the schema's
 * defaults (`renderExamples`), both in the checkout and by `pcc new`; a test
 * compares them, so an example can never drift from the settings pcc knows,
 * and a new setting without a line here fails that test.
 */
/** The providers with settings of their own: each has a `config/<name>.env`, its header in the registry. */
type ProviderSettingsFile = Extract<(typeof PROVIDERS)[number], { settingsHeader: string }>['name'];
export type ExampleFile = 'pcc' | ProviderSettingsFile | 'private';

interface SettingDoc {
  file: ExampleFile;
  doc: string;
  /** Shown commented out, for a setting without a default. */
  example?: string;
}

const headers: Record<ExampleFile, string> = {
  pcc: `pcc itself: the engine, the registry and the shared network. Every provider
uses these. Copy to config/pcc.env and change what you need; unset keys use
these defaults. Keys pcc does not know (no PCC_, REGISTRY_, OVERLAY_, ...
prefix) are refused; playbook variables go in config/vars.env and reach
playbooks as host.vars.`,
  ...(Object.fromEntries(PROVIDERS.flatMap((p) => ('settingsHeader' in p ? [[p.name, p.settingsHeader]] : []))) as Record<ProviderSettingsFile, string>),
  private: `Secrets. Copy to config/.private (not .env: it is read last) and chmod 600;
pcc refuses the file if other users can read it, and never prints a value.
Without these, pcc uses the AWS SDK's usual chain (environment, ~/.aws
profiles, SSO).`,
};

const docs: Record<keyof SettingsValues, SettingDoc> = {
  PCC_CONCURRENCY: { file: 'pcc', doc: 'How many hosts pcc works on at once (playbooks, exec).' },
  PCC_CONNECT_TIMEOUT_MS: { file: 'pcc', doc: 'How long one SSH connection attempt may take, in milliseconds.' },
  PCC_CONNECT_RETRIES: { file: 'pcc', doc: 'How often a failed SSH connection is retried (with backoff) before the host counts as unreachable.' },
  PCC_TIMEOUT_S: {
    file: 'pcc',
    doc: "How long one round trip on a connected host may take, in seconds: reading facts and the swarm's short scripts. A host that takes longer (a login shell that hangs) counts as unreachable and the others go on. --timeout overrides this and PCC_APPLY_TIMEOUT_S.",
  },
  PCC_APPLY_TIMEOUT_S: { file: 'pcc', doc: "How long the round trip that does the work may take, in seconds: a playbook's changes (package installs and image pulls take a while) and pcc exec's command. Longer work belongs in pcc job." },
  PCC_SSH_KEY: {
    file: 'pcc',
    doc: 'The key pcc logs in with and every host authorizes (its .pub). If it does not exist and this is not set, pcc makes a project key in .pcc/ssh/. A key held by ssh-agent (SSH_AUTH_SOCK) is used from the agent, encrypted or not.',
  },
  PCC_BUILDER: { file: 'pcc', doc: 'The image builder of pcc build: docker or buildah (--builder overrides).' },
  PCC_MAX_USD_PER_HOUR: {
    file: 'pcc',
    doc: "The spend cap, in USD per hour: an acquire or resume that would take this project's running hosts above it is refused before anything is created or started, as is one where a price is unknown. Local and Vagrant hosts cost 0. Unset: no cap.",
    example: '1.50',
  },
  PCC_CONFIRM_USD_PER_HOUR: {
    file: 'pcc',
    doc: "Before it launches anything, acquire shows what the new hosts cost per hour and what the project will then cost (as pcc status prices them). When that new total is above this many USD per hour (or unknown), it asks on a terminal, and without one it needs --yes (exit 2, nothing launched). 0: ask before any paid host. Local and Vagrant hosts cost 0 and never ask.",
  },
  PCC_AUTOSTOP_CHECK_S: { file: 'pcc', doc: 'How often, in seconds, the autostop agent on a host (pcc autostop) checks whether the host is idle.' },
  PCC_AUTOSTOP_LOAD_PER_CPU: {
    file: 'pcc',
    doc: "The autostop agent counts a host busy while its CPU use is above this value times the host's CPU count: its 1-minute load average where it has its own kernel (EC2, Vagrant); on a local host, which shares this machine's kernel and load, the CPUs its own cgroup kept busy since the last check.",
  },
  REGISTRY_HOST: {
    file: 'pcc',
    doc: "The registry as host:port. By default the controller's, on the overlay; set it to use another registry.",
    example: '10.214.0.1:5000',
  },
  REGISTRY_PORT: { file: 'pcc', doc: "The port of the controller's registry." },
  OVERLAY_SUBNET: { file: 'pcc', doc: 'The WireGuard network every host joins; the controller takes the first address.' },
  OVERLAY_PORT: { file: 'pcc', doc: 'The UDP port WireGuard listens on.' },
  SWARM_ADDRESS_POOL: { file: 'pcc', doc: 'Docker Swarm carves its overlay networks (the `pcc` container network among them) from this pool, /24 each.' },
  NVIDIA_DRIVER_SERIES: { file: 'pcc', doc: "Driver series of Flatcar's official NVIDIA sysexts for GPU hosts; open or proprietary follows the GPU generation." },
  NVIDIA_RUNTIME_VERSION: { file: 'pcc', doc: 'Version of the sysext-bakery nvidia-runtime sysext (the NVIDIA container toolkit) Flatcar GPU hosts fetch at first boot.' },

  LOCAL_SUBNET: {
    file: 'local',
    doc: "The hosts' subnet. The bridge takes the first address, hosts the next ones. Hosts get no default route and no NAT, and ip_forward is left alone: they reach each other and this machine, nothing else.",
  },
  LOCAL_CLOUD_SUBNET: {
    file: 'local',
    doc: 'The simulated internet of `pcc acquire local --site cloud`: "public" addresses outside the home NAT.',
  },
  LOCAL_BASE_CACHE: {
    file: 'local',
    doc: "Where the Debian base (debootstrap, about 500 MB, 1-2 minutes to build) is cached, outside any project. It is rebuilt only when pcc's recipe for it changes; every host boots from it with its own overlay on top.",
  },
  LOCAL_MIRROR: {
    file: 'local',
    doc: 'The Debian mirror for that build. Default: the first Debian mirror in /etc/apt/sources.list*, else http://deb.debian.org/debian.',
    example: 'http://deb.debian.org/debian',
  },
  LOCAL_BRIDGE: {
    file: 'local',
    doc: "The home bridge in this machine's namespace (at most 15 characters). By default pcc-<the project id's first 10 digits>, e.g. pcc-0123456789, so two projects never share one.",
    example: 'pcc-br0',
  },

  VAGRANT_BOX: { file: 'vagrant', doc: 'The box every machine starts from.' },
  VAGRANT_BOX_URL: { file: 'vagrant', doc: 'Where vagrant fetches the box the first time.' },
  VAGRANT_CPUS: { file: 'vagrant', doc: "Each machine's CPUs." },
  VAGRANT_MEMORY: { file: 'vagrant', doc: "Each machine's memory in MiB." },
  VAGRANT_CONTROLLER_IP: { file: 'vagrant', doc: "The controller init's fixed address on the host-only network." },
  VAGRANT_SUBNET: {
    file: 'vagrant',
    doc: 'The private (host-only) network. VirtualBox 6.1.28+ only allows 192.168.56.0/21 unless /etc/vbox/networks.conf says otherwise. The host takes the first address; compute machines (vagrant, vagrant2, ...) take the next free ones.',
  },

  EC2_REGION: { file: 'ec2', doc: 'Region for new hosts (--region overrides). destroy, save and status also look in every region the project has used.' },
  EC2_INSTANCE_TYPE_CPU: { file: 'ec2', doc: 'Instance type of cpu hosts (--instance-type overrides).' },
  EC2_INSTANCE_TYPE_GPU: {
    file: 'ec2',
    doc: 'Instance type of gpu hosts (--instance-type overrides). Whether a type has a GPU comes from AWS (DescribeInstanceTypes), so --type gpu refuses a type without one.',
  },
  EC2_AMI: { file: 'ec2', doc: 'One image for every host (or --ami); skips the lookup below.', example: 'ami-0123456789abcdef0' },
  EC2_AMI_OWNER: { file: 'ec2', doc: "The account whose newest EC2_AMI_NAME image is used (075585003325 is Kinvolk/Flatcar's)." },
  EC2_AMI_NAME: { file: 'ec2', doc: 'The image name to look up, for the instance type\'s architecture.' },
  EC2_GPU_AMI: {
    file: 'ec2',
    doc: "GPU hosts: flatcar (Flatcar's own NVIDIA driver sysext) or dlami, the AWS Deep Learning AMI (Ubuntu) named by EC2_DLAMI_SSM_PARAMETER.",
  },
  EC2_DLAMI_SSM_PARAMETER: { file: 'ec2', doc: 'The public SSM parameter that names the Deep Learning AMI.' },
  EC2_SPOT: { file: 'ec2', doc: 'Spot instances (--spot): persistent requests that stop, not terminate, when AWS reclaims them, so save and resume work.' },
  EC2_SSH_CIDR: {
    file: 'ec2',
    doc: 'Who may reach the hosts: the security group opens SSH and the overlay port to this address or CIDR only. Unset, pcc asks EC2_CHECKIP_URL for your public address on every acquire and uses it as a /32. Prefixes wider than /8 are refused.',
    example: '203.0.113.7/32',
  },
  EC2_CHECKIP_URL: { file: 'ec2', doc: 'Where pcc asks for your public address when EC2_SSH_CIDR is unset.' },
  EC2_SSH_USER: {
    file: 'ec2',
    doc: 'The login user; by default from the image: core (Flatcar), ubuntu (Ubuntu, Deep Learning AMI), else ec2-user.',
    example: 'core',
  },
  EC2_ROOT_VOLUME_GB: { file: 'ec2', doc: "Root volume size in GiB (never less than the image's own)." },
  EC2_SSH_WAIT_S: {
    file: 'ec2',
    doc: 'How long acquire, resume and setup wait for a new or started host to answer on SSH, in seconds; pcc tries again every few seconds, says what it still waits for, and stops at the first answer. Unset: 600 for GPU hosts (a Flatcar GPU host fetches the NVIDIA driver sysexts at first boot; the Deep Learning AMI reads its large image lazily as it boots) and 300 for CPU hosts (Flatcar boots in about a minute; the rest is margin for a slow launch).',
    example: '900',
  },

  AWS_ACCESS_KEY_ID: { file: 'private', doc: 'AWS access key id.', example: 'AKIA...' },
  AWS_SECRET_ACCESS_KEY: { file: 'private', doc: 'AWS secret access key.', example: '...' },
  AWS_PROFILE: { file: 'ec2', doc: 'The AWS profile (~/.aws/config and credentials) to use; its region applies when EC2_REGION is unset.', example: 'research' },
  AWS_REGION: { file: 'ec2', doc: 'The AWS region when EC2_REGION is unset, as the AWS CLI reads it.', example: 'eu-west-1' },
  AWS_DEFAULT_REGION: { file: 'ec2', doc: 'The region after AWS_REGION, as the AWS CLI reads it.', example: 'eu-west-1' },
  AWS_SESSION_TOKEN: { file: 'private', doc: 'AWS session token, for temporary credentials.', example: '...' },
};

/** The example files' names in config/. */
export function exampleFileName(file: ExampleFile): string {
  return file === 'private' ? 'private.example' : `${file}.env.example`;
}

export function settingDoc(key: string): SettingDoc | undefined {
  return (docs as Record<string, SettingDoc>)[key];
}

/** Every example file: name → text. Keys appear in the schema's order. */
export function renderExamples(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of Object.keys(headers) as ExampleFile[]) {
    const lines = [...comment(headers[file]), ''];
    for (const key of Object.keys(settingsSchema.shape) as (keyof SettingsValues)[]) {
      const d = docs[key];
      if (d.file !== file) continue;
      const value = defaultOf(key);
      lines.push(...comment(d.doc));
      lines.push(value === undefined ? `#${key}=${d.example ?? ''}` : `${key}=${value}`, '');
    }
    out.set(exampleFileName(file), `${lines.join('\n').trimEnd()}\n`);
  }
  return out;
}

function defaultOf(key: keyof SettingsValues): string | undefined {
  const parsed = settingsSchema.shape[key].safeParse(undefined);
  return parsed.success && parsed.data !== undefined ? String(parsed.data) : undefined;
}

/** `# ` lines wrapped at 78 columns; blank lines stay `#`. */
function comment(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    if (para.trim() === '') {
      out.push('#');
      continue;
    }
    if (/^\s/.test(para)) {
      out.push(`# ${para}`);
      continue;
    }
    let line = '';
    for (const word of para.split(/\s+/)) {
      if (line && line.length + 1 + word.length > 76) {
        out.push(`# ${line}`);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(`# ${line}`);
  }
  return out;
}
