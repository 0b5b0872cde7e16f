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
    settingsPrefix: 'LOCAL_',
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
    acquireOptions: [],
    saveOptions: [{ flag: 'halt', type: 'boolean', describe: 'halt instead of suspend' }],
    load: async (): Promise<Provider<any>> => (await import('./vagrant/index.js')).vagrantProvider,
  },
  {
    name: 'ec2',
    controller: false,
    compute: true,
    settingsPrefix: 'EC2_',
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

export function providerEntry(name: string): ProviderEntry | undefined {
  return (PROVIDERS as readonly ProviderEntry[]).find((p) => p.name === name);
}
