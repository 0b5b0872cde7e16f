import { z } from 'zod';

export const hostRecordSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1),
  /** Path to the private key, absolute or `~/`-relative. */
  key: z.string().optional(),
  provider: z.enum(['static', 'local', 'vagrant', 'ec2']),
  /** Provider, cpu/gpu, instance type, role and any user groups. */
  groups: z.array(z.string()),
  /** The provider's own id: instance id, machine name, vagrant machine. */
  providerId: z.string().optional(),
  /** `running`, `stopped`, `saved`, ... as last seen by the provider. */
  status: z.string().optional(),
  createdAt: z.string(),
  /** Overlay address, assigned by the controller's setup. */
  overlayAddress: z.string().optional(),
  /**
   * The network the host sits on: `home` (the user's machine and its LAN,
   * behind NAT), `cloud` (the local provider's simulated internet),
   * `ec2:<region>`. Hosts of one site reach each other on their site address.
   * Absent means `home`.
   */
  site: z.string().regex(/^[a-z0-9][a-z0-9:.-]*$/).optional(),
  /**
   * Whether hosts of every other site can open connections to `address` (an
   * EC2 public IP, a cloud-segment host); false for anything behind NAT.
   * Absent means false.
   */
  dialable: z.boolean().optional(),
  /**
   * Where hosts of the same site reach it, when that is not `address`: a
   * Vagrant VM's host-only IP (its `address` is vagrant's port forward), an
   * EC2 private IP (same-VPC traffic stays private and matches the security
   * group's self-reference).
   */
  siteAddress: z.string().optional(),
  /** Provider-specific, non-secret details (instance type, region, spot, ...). */
  meta: z.record(z.string(), z.string()).default({}),
});

export type HostRecord = z.infer<typeof hostRecordSchema>;

export const imageRecordSchema = z.object({
  hash: z.string(),
  digest: z.string().optional(),
  builtAt: z.string(),
});

export const stateSchema = z.object({
  version: z.literal(1),
  hosts: z.record(z.string(), hostRecordSchema),
  images: z.record(z.string(), imageRecordSchema).default({}),
  /** Each provider's own bookkeeping (resource ids, allocated addresses). */
  providers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

export type State = z.infer<typeof stateSchema>;

export function emptyState(): State {
  return { version: 1, hosts: {}, images: {}, providers: {} };
}
