import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeOwnedFile } from '../../core/files.js';
import { generateHostKey } from '../local/keys.js';
import { run } from '../local/exec.js';
import { SEED_LABEL } from './recipe.js';

/**
 * A VM's first-boot files travel on a small ext4 "seed" disk of its own
 * (label `pcc-seed`), which the image's pcc-seed.service copies onto `/`
 * once, before the network and sshd start. The VM's root is a qcow2 overlay
 * on the shared image, which this machine cannot open without nbd, so the
 * files cannot be written into it as the local provider writes into its
 * overlay root.
 */
export interface SeedInput {
  name: string;
  address: string;
  prefix: number;
  /** The home segment's NAT router; cloud VMs have none, like cloud nspawn hosts. */
  gateway?: string;
  /** The VM's MAC (networkd matches its NIC by it, whatever the kernel names it). */
  mac: string;
  /** The user's public key, authorized for root. */
  publicKey: string;
  /** What dockerd trusts as plain-HTTP registries (the local net and the overlay), as on local hosts. */
  insecureRegistries: string[];
}

export interface SeedFile {
  content: string;
  mode: number;
}

/** systemd-networkd's file: a static address on the site bridge, as a local host's host0 has. */
export function networkdConfig(s: Pick<SeedInput, 'mac' | 'address' | 'prefix' | 'gateway'>): string {
  return [
    '[Match]',
    `MACAddress=${s.mac}`,
    '',
    '[Network]',
    `Address=${s.address}/${s.prefix}`,
    ...(s.gateway ? [`Gateway=${s.gateway}`] : []),
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    '',
  ].join('\n');
}

/** The files under the seed's `root/`, path relative to `/`; the host key is added by `writeSeedDisk`. */
export function seedFiles(s: SeedInput): Record<string, SeedFile> {
  return {
    'etc/hostname': { content: `${s.name}\n`, mode: 0o644 },
    'etc/hosts': { content: `127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n${s.address}\t${s.name}\n`, mode: 0o644 },
    'etc/systemd/network/10-pcc.network': { content: networkdConfig(s), mode: 0o644 },
    'etc/docker/daemon.json': { content: `${JSON.stringify(vmDockerConfig(s.insecureRegistries), null, 2)}\n`, mode: 0o644 },
    'root/.ssh/authorized_keys': { content: `${s.publicKey}\n`, mode: 0o600 },
  };
}

/**
 * Folders the copy onto `/` passes through take the seed's modes, so they
 * must be the image's: /root and /root/.ssh are private, the rest 0755.
 */
export function seedDirMode(rel: string): number {
  return rel === 'root' || rel.startsWith('root/') ? 0o700 : 0o755;
}

export const SEED_SIZE = '16M';

export function seedMkfsArgv(dir: string, image: string): string[] {
  return ['mkfs.ext4', '-q', '-L', SEED_LABEL, '-d', dir, '-E', 'root_owner=0:0', image, SEED_SIZE];
}

/**
 * Writes the seed disk `image` for `s` and returns the host key line pcc
 * made for it (so pcc knows the key without asking the VM). Built in a
 * scratch folder next to the image; an existing image is replaced.
 */
export async function writeSeedDisk(image: string, s: SeedInput): Promise<string> {
  const scratch = await mkdtemp(path.join(path.dirname(image), '.seed-'));
  try {
    const root = path.join(scratch, 'root');
    for (const [rel, f] of Object.entries(seedFiles(s))) {
      await makeDirs(root, path.dirname(rel));
      await writeOwnedFile(path.join(root, rel), f.content, { mode: f.mode, durable: false });
    }
    await makeDirs(root, 'etc/ssh');
    const hostKey = await generateHostKey(root, s.name);
    await rm(image, { force: true });
    await run(seedMkfsArgv(scratch, image));
    return hostKey;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Each folder from `root` down to `rel`, with the mode the image has there. */
async function makeDirs(root: string, rel: string): Promise<void> {
  await mkdir(root, { recursive: true });
  await chmod(root, 0o755);
  let at = '';
  for (const part of rel.split('/').filter((p) => p && p !== '.')) {
    at = at ? `${at}/${part}` : part;
    await mkdir(path.join(root, at), { recursive: true });
    await chmod(path.join(root, at), seedDirMode(at));
  }
}

/**
 * dockerd's defaults but the registries: unlike an nspawn host, a VM has a
 * kernel and netfilter of its own, so docker's iptables rules (the swarm's
 * ingress for `--publish`, service VIPs through ip_vs) stay inside it.
 */
export function vmDockerConfig(insecureRegistries: string[]): Record<string, unknown> {
  return insecureRegistries.length > 0 ? { 'insecure-registries': insecureRegistries } : {};
}
