import type { Provider } from './types.js';

/**
 * The one list of providers. The CLI's choices, the state schema's enum,
 * the settings prefixes and the config examples all derive from it; adding a
 * provider is its folder and one entry here. Light on purpose: `pcc --help`
 * reads it, and a provider's code (the AWS SDK) loads only on use.
 */
export interface AcquireOption {
  /** The flag, kebab-case, e.g. `instance-type`. */
  flag: string;
  type: 'string' | 'boolean';
  choices?: readonly string[];
  describe: string;
}

export interface ProviderEntry {
  name: string;
  /** Can run the controller (`pcc init --provider`, `pcc up --provider`). */
  controller: boolean;
  /** Makes compute hosts (`acquire`, `save`, `resume`, `release`). */
  compute: boolean;
  /** Settings keys of this provider start with it; a misspelled one is refused. */
  settingsPrefix?: string;
  /** The head of its `config/<name>.env.example`: what the provider is, what it needs, what its commands do. */
  settingsHeader?: string;
  /** Its hosts cost money by the hour (a host whose state cannot be read then has an unknown price). */
  costsMoney?: boolean;
  /** Keeps data volumes (`pcc volume create --provider`, `acquire --volume`). */
  volumes?: boolean;
  /** Finds a project's hosts again by their tags after `.pcc/` was lost (`pcc adopt`, and `pcc status` without state). */
  adopt?: boolean;
  /** The provider's own acquire flags: only its acquire takes them. */
  acquireOptions: readonly AcquireOption[];
  /** The provider's own save flags. */
  saveOptions: readonly AcquireOption[];
  load(): Promise<Provider<any>>;
}

export const PROVIDERS = [
  {
    name: 'local',
    controller: true,
    compute: true,
    volumes: true,
    settingsPrefix: 'LOCAL_',
    settingsHeader: `Local hosts on this Linux machine (pcc acquire local, save local, destroy local,
status; pcc init --provider local for the controller). Each host is a
systemd-nspawn machine booted with systemd. Needs root, and:
  apt-get install --no-install-recommends systemd-container debootstrap iproute2 openssh-client
Copy to config/local.env and change what you need; unset keys use these defaults.

What \`acquire\` does: saved (or crashed) hosts boot again with their files,
and new hosts local1, local2, ... are added until there are --count compute
hosts. \`save\` powers all local hosts off and keeps their disks
(.pcc/local/<name>/); \`destroy\` removes machines, network, mounts and disks.
The controller's registry storage (.pcc/registry/) is kept on purpose.`,
    acquireOptions: [
      { flag: 'site', type: 'string', choices: ['home', 'cloud'], describe: 'home (behind the NAT, the default) or cloud (the simulated internet)' },
    ],
    saveOptions: [],
    load: async (): Promise<Provider<any>> => (await import('./local/index.js')).localProvider,
  },
  {
    name: 'vagrant',
    controller: true,
    compute: true,
    settingsPrefix: 'VAGRANT_',
    settingsHeader: `Vagrant machines (pcc init, the default controller, and pcc acquire vagrant).
Copy to config/vagrant.env and change what you need; unset keys use these defaults.
Needs vagrant and VirtualBox on this machine, and an NFS server for the
controller's folders (macOS has one; on Debian/Ubuntu: apt-get install nfs-kernel-server).`,
    acquireOptions: [],
    saveOptions: [{ flag: 'halt', type: 'boolean', describe: 'halt instead of suspend' }],
    load: async (): Promise<Provider<any>> => (await import('./vagrant/index.js')).vagrantProvider,
  },
  {
    name: 'ec2',
    controller: false,
    compute: true,
    volumes: true,
    adopt: true,
    costsMoney: true,
    settingsPrefix: 'EC2_',
    settingsHeader: `Amazon EC2 hosts (pcc acquire ec2, save ec2, destroy ec2, status).
Copy to config/ec2.env and change what you need; unset keys use these defaults.

Credentials never go here: see private.example. AWS_ENDPOINT_URL_EC2 /
AWS_ENDPOINT_URL_SSM in the environment point the SDK elsewhere (the tests
use them for moto).

What \`acquire\` does: with saved (stopped) instances it starts them and
launches nothing; otherwise it makes sure the project has --count running
hosts of the asked kind (type, instance type, image, spot) and launches only
the missing ones. Every resource is tagged with the project, which is how
\`destroy\` finds everything even without .pcc/state.json.`,
    acquireOptions: [
      { flag: 'instance-type', type: 'string', describe: 'instance type (overrides config/ec2.env)' },
      { flag: 'spot', type: 'boolean', describe: 'request spot instances' },
      { flag: 'region', type: 'string', describe: 'region (overrides EC2_REGION)' },
      { flag: 'ami', type: 'string', describe: 'use this AMI id, skip the lookup' },
    ],
    saveOptions: [{ flag: 'snapshot', type: 'boolean', describe: 'also create AMIs' }],
    load: async (): Promise<Provider<any>> => (await import('./ec2/index.js')).ec2Provider,
  },
  {
    name: 'vm',
    controller: false,
    compute: true,
    volumes: true,
    // No settings file yet: its settings (src/providers/vm/settings.ts) wait for providers to own their slice.
    acquireOptions: [
      { flag: 'site', type: 'string', choices: ['home', 'cloud'], describe: 'home (behind the NAT, the default) or cloud (the simulated internet)' },
    ],
    saveOptions: [],
    load: async (): Promise<Provider<any>> => (await import('./vm/index.js')).vmProvider,
  },
  {
    name: 'static',
    controller: false,
    compute: false,
    acquireOptions: [],
    saveOptions: [],
    load: async (): Promise<Provider<any>> => (await import('./static/index.js')).staticProvider,
  },
] as const satisfies readonly ProviderEntry[];

export type ProviderName = (typeof PROVIDERS)[number]['name'];

export const PROVIDER_NAMES = PROVIDERS.map((p) => p.name) as [ProviderName, ...ProviderName[]];
export const COMPUTE_PROVIDERS = PROVIDERS.filter((p) => p.compute).map((p) => p.name);
export const CONTROLLER_PROVIDERS = PROVIDERS.filter((p) => p.controller).map((p) => p.name);
export const VOLUME_PROVIDERS = (PROVIDERS as readonly ProviderEntry[]).filter((p) => p.volumes).map((p) => p.name as ProviderName);
export const ADOPT_PROVIDERS = (PROVIDERS as readonly ProviderEntry[]).filter((p) => p.adopt).map((p) => p.name as ProviderName);

export function providerEntry(name: string): ProviderEntry | undefined {
  return (PROVIDERS as readonly ProviderEntry[]).find((p) => p.name === name);
}
