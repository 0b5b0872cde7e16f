import type { Progress } from '../core/progress.js';
import type { Project } from '../core/project.js';
import type { Settings } from '../settings/load.js';
import type { HostRecord } from '../state/schema.js';
import type { StateStore } from '../state/store.js';

export type ProviderName = HostRecord['provider'];

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
  /** `pcc resume`: bring back saved hosts, create none. */
  resumeOnly?: boolean;
  /** Wait until the hosts answer on SSH (providers report the address; the core probes). */
  wait: boolean;
}

export interface SaveRequest {
  /** ec2: create AMIs instead of stopping. */
  snapshot?: boolean;
  /** vagrant: halt instead of suspend. */
  halt?: boolean;
}

/** Live view of one host, for `pcc status`. */
export interface HostStatus {
  name: string;
  provider: ProviderName;
  state: string;
  /** ISO time the host (last) started, if running. */
  since?: string;
  /** On-demand or spot price in USD per hour, if it costs money. */
  usdPerHour?: number;
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
 * A source of machines. It creates, stops and removes them and records them in
 * the state; it never opens SSH (the core does that with what it recorded).
 */
export interface Provider {
  readonly name: ProviderName;
  /** Create hosts, or resume the saved ones. Returns the hosts now running. */
  acquire(request: AcquireRequest, ctx: ProviderContext): Promise<HostRecord[]>;
  save(request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]>;
  destroy(ctx: ProviderContext): Promise<DestroyReport>;
  status(ctx: ProviderContext): Promise<HostStatus[]>;
  /** The controller (`pcc init`), for providers that can host it. */
  initController?(ctx: ProviderContext): Promise<HostRecord>;
}
