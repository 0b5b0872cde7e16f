import * as z from '../core/zod.js';
import { PROVIDER_NAMES } from '../providers/registry.js';

/** Fields an older pcc kept in `meta` as strings, lifted into their typed places when a state is read. */
const LIFTED_FROM_META = ['hostKey', 'overlayPublicKey', 'region', 'instanceType', 'exportPath', 'registryStorage'] as const;
const OLD_META_NAMES: Record<string, (typeof LIFTED_FROM_META)[number]> = { wgPublicKey: 'overlayPublicKey' };

function liftMeta(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || !('meta' in raw)) return raw;
  const host = { ...(raw as Record<string, unknown>) };
  const meta = { ...(host.meta as Record<string, unknown>) };
  for (const [key, value] of Object.entries(meta)) {
    const field = OLD_META_NAMES[key] ?? (LIFTED_FROM_META as readonly string[]).find((f) => f === key);
    if (field === undefined) continue;
    if (host[field] === undefined) host[field] = value;
    delete meta[key];
  }
  host.meta = meta;
  return host;
}

const hostRecordShape = z.object({
  name: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/)),
  address: z.string().check(z.minLength(1)),
  port: z.number().check(z.int(), z.minimum(1), z.maximum(65535)),
  user: z.string().check(z.minLength(1)),
  /** Path to the private key, absolute or `~/`-relative. */
  key: z.optional(z.string()),
  provider: z.enum(PROVIDER_NAMES),
  /** Provider, cpu/gpu, instance type, role and any user groups. */
  groups: z.array(z.string()),
  /** The provider's own id: instance id, machine name, vagrant machine. */
  providerId: z.optional(z.string()),
  /** `running`, `stopped`, `saved`, ... as last seen by the provider. */
  status: z.optional(z.string()),
  createdAt: z.string(),
  /** Overlay address, assigned by the controller's setup. */
  overlayAddress: z.optional(z.string()),
  /**
   * The network the host sits on: `home` (the user's machine and its LAN,
   * behind NAT), `cloud` (the local provider's simulated internet),
   * `ec2:<region>`. Hosts of one site reach each other on their site address.
   * Absent means `home`.
   */
  site: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9:.-]*$/))),
  /**
   * Whether hosts of every other site can open connections to `address` (an
   * EC2 public IP, a cloud-segment host); false for anything behind NAT.
   * Absent means false.
   */
  dialable: z.optional(z.boolean()),
  /**
   * Where hosts of the same site reach it, when that is not `address`: a
   * Vagrant VM's host-only IP (its `address` is vagrant's port forward), an
   * EC2 private IP (same-VPC traffic stays private and matches the security
   * group's self-reference).
   */
  siteAddress: z.optional(z.string()),
  /**
   * The host's SSH host key(s) as the provider reported them at creation, in
   * known_hosts form without names (`ssh-ed25519 AAAA...`, one per line):
   * pcc's known_hosts is written from it, so the first connection is checked.
   */
  hostKey: z.optional(z.string()),
  /** The host's WireGuard public key on the overlay (its private key stays in `.pcc/wireguard/`). */
  overlayPublicKey: z.optional(z.string()),
  /** The cloud region the host runs in (EC2). */
  region: z.optional(z.string()),
  /** The cloud instance type (`g5.xlarge`): a swarm label and a placement term. */
  instanceType: z.optional(z.string()),
  /** On the controller: the folder its NFS server exports, and where its registry keeps images. */
  exportPath: z.optional(z.string()),
  /**
   * On a controller that sees the project as a share mounted after it boots
   * (Vagrant's NFS folder): where. Setup then builds `exportPath` from it as a
   * view without UNEXPORTED_DIRS; without it, the provider made that view.
   */
  projectShare: z.optional(z.string()),
  /**
   * On a compute host that shares this machine's disk (a local host): its
   * provider binds the project folder at PROJECT_MOUNT when it boots, so
   * setup mounts no NFS share there.
   */
  projectBound: z.optional(z.boolean()),
  registryStorage: z.optional(z.string()),
  /** `pcc autostop` / `acquire --autostop`: the host powers itself off after this long idle (or without word from pcc for the lease). */
  autostop: z.optional(
    z.object({
      idleMinutes: z.number().check(z.int(), z.minimum(1)),
      /** EC2: terminate on shutdown instead of stop. */
      down: z.boolean(),
      leaseMinutes: z.optional(z.number().check(z.int(), z.minimum(1))),
    }),
  ),
  /** Provider-specific, non-secret details that no other layer reads (spot, AMI, zone, netns, ...). */
  meta: z._default(z.record(z.string(), z.string()), {}),
});

export const hostRecordSchema = z.preprocess(liftMeta, hostRecordShape);

export type HostRecord = z.infer<typeof hostRecordShape>;

export const imageRecordSchema = z.object({
  hash: z.string(),
  digest: z.optional(z.string()),
  builtAt: z.string(),
});

/**
 * A data volume that outlives hosts (`pcc volume create`): an EBS volume on
 * EC2, a folder under `.pcc/volumes/` on local. `pcc destroy` never removes
 * one; `pcc volume rm` does.
 */
export const volumeRecordSchema = z.object({
  name: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,39}$/)),
  provider: z.enum(PROVIDER_NAMES),
  sizeGiB: z.number().check(z.int(), z.minimum(1)),
  createdAt: z.string(),
  /** The provider's own id: an EBS volume id, the local folder. */
  providerId: z.optional(z.string()),
  /** EC2: where it lives; a host it attaches to must run there. */
  region: z.optional(z.string()),
  zone: z.optional(z.string()),
  /** The host it is attached to, and where it is mounted there. */
  attachedTo: z.optional(z.string()),
  mountPoint: z.optional(z.string()),
});

export type VolumeRecord = z.infer<typeof volumeRecordSchema>;

export const stateSchema = z.object({
  version: z.literal(1),
  hosts: z.record(z.string(), hostRecordSchema),
  images: z._default(z.record(z.string(), imageRecordSchema), {}),
  /** Data volumes by name; absent in states written before volumes. */
  volumes: z._default(z.record(z.string(), volumeRecordSchema), {}),
  /** Each provider's own bookkeeping (resource ids, allocated addresses). */
  providers: z._default(z.record(z.string(), z.record(z.string(), z.unknown())), {}),
});

export type State = z.infer<typeof stateSchema>;

export function emptyState(): State {
  return { version: 1, hosts: {}, images: {}, volumes: {}, providers: {} };
}
