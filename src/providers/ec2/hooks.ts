import type { ClientHook } from './clients.js';

/**
 * What a caller (in practice, a test) may swap: nothing here changes what
 * pcc does against AWS, only how it is observed or where a fault is injected.
 */
export interface Ec2Hooks {
  /** Sees every SDK client pcc creates, e.g. to count calls with a middleware. */
  onClient?: ClientHook;
  /** Finds the caller's public IPv4 when EC2_SSH_CIDR is unset (default: ask EC2_CHECKIP_URL). */
  discoverPublicIp?: (url: string) => Promise<string>;
  /** Runs right after RunInstances returned, before the state is written: a crash here must be recoverable. */
  afterRunInstances?: (instanceIds: string[]) => Promise<void> | void;
  /** Waiter poll delays in seconds (AWS needs patience; moto answers at once). */
  waitDelay?: { min: number; max: number };
}

export const DEFAULT_WAIT_DELAY = { min: 5, max: 30 };
