import type { BlockDeviceMatch } from '../facts/block-device.js';
import type { Progress } from '../core/progress.js';
import type { Project } from '../core/project.js';
import type { Settings } from '../settings/load.js';
import type { HostRecord, VolumeRecord } from '../state/schema.js';
import type { StateStore } from '../state/store.js';
import type { ProviderName } from './registry.js';

/** One host as its provider sees it now. */
export interface ListedHost {
  name: string;
  role: 'compute' | 'controller';
  /** The spec it was made from (`cpu`, `gpu`, an EC2 request hash): hosts of one spec are interchangeable. */
  spec: string;
  /** `running` (or on its way there), `stopped` (saved, halted, crashed: can start again). */
  state: 'running' | 'stopped';
  /**
   * Stopped but not put away: what only a running host needs is still there
   * (a save killed between its power-offs, or a crash). `save` finishes it.
   */
  unsaved?: boolean;
}

/** What a provider makes on `create`: the key that `list` reports, and a label for people. */
export interface Spec<Detail = unknown> {
  key: string;
  label: string;
  /** The provider's own, typed details (instance type, AMI, ...). */
  detail: Detail;
}

export type { ProviderName } from './registry.js';

export interface ProviderContext {
  readonly project: Project;
  readonly settings: Settings;
  readonly state: StateStore;
  readonly progress: Progress;
  /** Plan only: render files and say what would happen, change nothing outside `.pcc/`. */
  readonly dry: boolean;
}

export interface AcquireRequest {
  type: 'cpu' | 'gpu';
  count: number;
  instanceType?: string;
  spot?: boolean;
  region?: string;
  ami?: string;
  /** Where the hosts sit (local: `home` behind the NAT, or `cloud`, the simulated internet). */
  site?: string;
  /** `--volume NAME[:/data]`: the volume attaches to the host this acquire brings up (see fleet/volumes.ts). */
  volume?: { name: string; mountPoint: string };
  /** Wait until the hosts answer on SSH (providers report the address; the core probes). */
  wait: boolean;
}

export interface SaveRequest {
  /** ec2: create AMIs instead of stopping. */
  snapshot?: boolean;
  /** vagrant: halt instead of suspend. */
  halt?: boolean;
}

/** An hourly price in USD (undefined: none known) and where it comes from, with its date (`pcc's shipped us-east-1 table of 2026-11-22`). */
export interface HourlyPrice {
  usdPerHour: number | undefined;
  source?: string;
}

/** How long a host may take to boot, and what to change when that was not enough. */
export interface BootWait {
  seconds: number;
  fix: string;
}

/** Live view of one host, for `pcc status`. */
export interface HostStatus {
  name: string;
  provider: ProviderName;
  state: string;
  /** ISO time the host (last) started, if running. */
  since?: string;
  /** On-demand or spot price in USD per hour while it runs (0: costs nothing, e.g. local). */
  usdPerHour?: number;
  /** Where `usdPerHour` came from, with its date (`AWS Price List (us-east-1), fetched 2026-12-02`). */
  priceSource?: string;
  /** A billed host with no known price: what is unpriced (its instance type). `pcc status` shows `?`. */
  unpriced?: string;
  /** USD spent since it started: price × running time since `since` (filled by fleet/lifecycle's status). */
  spentUsd?: number;
  /** What its disks cost per month while it is stopped (EC2: EBS volumes), and what they are. */
  usdPerMonth?: number;
  storage?: string;
  address?: string;
  /** Where the host sits (see network/reach.ts). */
  site?: string;
  groups: string[];
}

export interface DestroyReport {
  /** One human line per removed resource, e.g. `instance i-0abc (pcc-gpu-1)`. */
  removed: string[];
}

/**
 * A source of machines: the provider contract. A provider reports what
 * exists and does primitive steps; it never decides how many hosts there
 * should be (that is `src/fleet/reconcile.ts`, the same for every provider)
 * and never opens SSH (the core does that with what it recorded). Every
 * primitive honours `ctx.dry` by saying what it would do and changing nothing.
 */
export interface Provider<Detail = unknown> {
  readonly name: ProviderName;
  /** Every host the provider has for this project, running or stopped, with the spec each was made from. */
  list(ctx: ProviderContext): Promise<ListedHost[]>;
  /** What an acquire request means here (checked: an instance type that exists, a GPU where one was asked for). */
  spec(request: AcquireRequest, ctx: ProviderContext): Promise<Spec<Detail>>;
  /** Make `count` new hosts of the spec and record them as soon as they exist. */
  create(spec: Spec<Detail>, count: number, ctx: ProviderContext): Promise<HostRecord[]>;
  /** Start stopped hosts by name. */
  start(hosts: string[], ctx: ProviderContext): Promise<HostRecord[]>;
  /** Stop running hosts by name, keeping their disks. */
  stop(hosts: string[], request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]>;
  /** Remove hosts by name, with their disks and records; one human line per removed resource. */
  terminate(hosts: string[], ctx: ProviderContext): Promise<string[]>;
  /** Remove every host and every shared resource of the project (found by its id). */
  destroy(ctx: ProviderContext): Promise<DestroyReport>;
  status(ctx: ProviderContext): Promise<HostStatus[]>;
  /**
   * What one more host of the spec costs per hour while it runs, in USD (0
   * for hosts that cost nothing; undefined where no price is known), and
   * where that figure comes from, with its date. The spend cap
   * (PCC_MAX_USD_PER_HOUR) and the price acquire shows before it launches
   * ask it before anything is created.
   */
  priceOf?(spec: Spec<Detail>, ctx: ProviderContext): Promise<HourlyPrice>;
  /** What a stopped host costs per hour once it runs again, as `priceOf` says for a spec; the spend cap asks it before a resume starts anything. */
  priceOfHost?(host: HostRecord, ctx: ProviderContext): Promise<number | undefined>;
  /**
   * How long a host just created or started may take until it answers, where
   * that can be longer than the connection's own retries (EC2:
   * EC2_SSH_WAIT_S, else by image). The core keeps trying that long.
   */
  bootWait?(host: HostRecord, ctx: ProviderContext): BootWait;
  /** Project-wide storage that costs money without a host (EC2: the project's AMIs and their snapshots). */
  storageCosts?(ctx: ProviderContext): Promise<StorageCost[]>;
  /**
   * Brings the project's shared resources up to date on an acquire with
   * nothing to do (`create` and `start` do it themselves; EC2: the key pair,
   * and the security group opened to where the user is now).
   */
  refreshAccess?(spec: Spec<Detail>, ctx: ProviderContext): Promise<void>;
  /** Runs a whole reconcile under the provider's own lock, where two at once could double up (local). */
  exclusive?<T>(ctx: ProviderContext, fn: () => Promise<T>): Promise<T>;
  /** The controller (`pcc init`), for providers that can host it. */
  initController?(ctx: ProviderContext): Promise<HostRecord>;
  /**
   * What the machine does when its OS shuts down (`systemctl poweroff` by the
   * autostop agent), where the provider decides that (EC2's
   * InstanceInitiatedShutdownBehavior). Local and Vagrant machines just stop.
   */
  setShutdownBehavior?(hosts: string[], behavior: 'stop' | 'terminate', ctx: ProviderContext): Promise<void>;
  /** Projects whose resources this provider finds by tag, whatever folder they came from (`pcc adopt`). */
  discover?(ctx: ProviderContext): Promise<FoundProject[]>;
  /**
   * Data volumes (see src/fleet/volumes.ts, which gives them their meaning).
   * `createVolume` makes it and returns what to record (its id, zone);
   * `deleteVolume` removes it (never attached: the core checks); `attachVolume`
   * makes an attachment the core has already recorded take effect on a
   * running host (local: a bind at boot, so the host boots again).
   */
  createVolume?(volume: VolumeRecord, ctx: ProviderContext): Promise<Partial<VolumeRecord>>;
  deleteVolume?(volume: VolumeRecord, ctx: ProviderContext): Promise<string[]>;
  attachVolume?(volume: VolumeRecord, host: HostRecord, ctx: ProviderContext): Promise<void>;
  /**
   * How an attached volume shows up on its host as a disk, for setup to
   * format (when blank) and mount (EC2: the NVMe serial and the Xen name).
   * Absent where the provider puts the volume in place itself (local: a bind
   * mount at boot), so setup leaves it alone.
   */
  volumeDevice?(volume: VolumeRecord): BlockDeviceMatch | undefined;
  /** What a volume of this size costs per month while it exists, in USD (0: nothing). */
  volumeUsdPerMonth?(sizeGiB: number): number;
  /**
   * Rebuilds this project's host records from the provider's tags (`pcc adopt
   * ID`), each with the local key that the instance was launched with; a
   * launch key that is not on this machine is reported, never replaced.
   */
  adopt?(ctx: ProviderContext): Promise<Adopted>;
}

/** What `adopt` rebuilt, and the launch keys it could not find here. */
export interface Adopted {
  hosts: HostRecord[];
  missingKeys: MissingLaunchKey[];
}

/** A key pair some adopted hosts were launched with whose private key is on none of the paths pcc looks at. */
export interface MissingLaunchKey {
  keyName: string;
  /** As the provider shows it (EC2's KeyFingerprint); undefined when the key pair itself is gone. */
  fingerprint?: string;
  hosts: string[];
}

export interface StorageCost {
  provider: ProviderName;
  /** One human line: `ami-0abc (pcc-gpu1 saved): 30 GB of snapshots`. */
  what: string;
  usdPerMonth: number;
}

export interface FoundProject {
  id: string;
  name: string;
  path: string;
  regions: string[];
  hosts: number;
  /** The known hourly prices of what runs (shipped table): a lower bound where `unpriced` is not empty. */
  usdPerHour: number;
  /** Instance types running without a known price. */
  unpriced: string[];
}
