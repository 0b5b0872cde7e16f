import { createHash } from 'node:crypto';
import { recipeHash as baseRecipeHash } from '../local/recipe.js';

/**
 * The offline VM image: the local provider's cached nspawn base (the same
 * Debian packages, so a VM host and an nspawn host run the same userland)
 * plus what a machine with its own kernel needs, installed in a copy of it
 * with apt. Everything that shapes the image lives here and goes into
 * `vmRecipeHash()`, together with the base's own hash, so a change to either
 * builds a new image. Per-VM details (name, address, keys) go on each VM's
 * seed disk instead (see seed.ts), so one image serves every project.
 */
export const VM_EXTRA_PACKAGES = [
  'linux-image-cloud-amd64',
  'udev',
  'kmod',
  'nfs-common',
  'systemd-sysv',
  'e2fsprogs',
] as const;

/** The root filesystem's label: the kernel finds its root by it, never by `/dev/vda` (a data disk may take that name). */
export const ROOT_LABEL = 'pcc-root';
/** The per-VM seed disk's label (see seed.ts). */
export const SEED_LABEL = 'pcc-seed';
/** The image's size as the VM sees it; sparse, so it costs what is written. */
export const IMAGE_SIZE = '10G';

/** Where pcc-seed finds the seed and what it copies: the `root/` folder on it, onto `/`. */
export const SEED_SCRIPT = [
  '#!/bin/sh',
  '# Copies the first-boot files pcc put on the seed disk onto / (once: setup changes some of them later).',
  'set -eu',
  '[ -e /var/lib/pcc/seeded ] && exit 0',
  `dev=/dev/disk/by-label/${SEED_LABEL}`,
  'i=0',
  'while [ ! -e "$dev" ]; do',
  '  i=$((i + 1))',
  '  if [ "$i" -gt 600 ]; then echo "pcc-seed: no $dev after 60 s" >&2; exit 1; fi',
  '  sleep 0.1',
  'done',
  'mkdir -p /run/pcc-seed',
  'mount -o ro "$dev" /run/pcc-seed',
  'cp -a /run/pcc-seed/root/. /',
  'umount /run/pcc-seed',
  'hostname "$(cat /etc/hostname)"',
  'mkdir -p /var/lib/pcc',
  ': > /var/lib/pcc/seeded',
  '',
].join('\n');

/** Files written into the image, path (relative to its root) to content and mode. */
export const VM_IMAGE_FILES: Readonly<Record<string, { content: string; mode: number }>> = {
  'etc/fstab': { content: `LABEL=${ROOT_LABEL} / ext4 rw,errors=remount-ro 0 1\n`, mode: 0o644 },
  'usr/local/sbin/pcc-seed': { content: SEED_SCRIPT, mode: 0o755 },
  // Before the network and sshd, which read what it copies; the root is writable by then.
  'etc/systemd/system/pcc-seed.service': {
    content: [
      '[Unit]',
      'Description=pcc first-boot files from the seed disk',
      'DefaultDependencies=no',
      'After=systemd-remount-fs.service systemd-udev-trigger.service local-fs.target',
      'Before=sysinit.target systemd-networkd.service ssh.service',
      'ConditionPathExists=!/var/lib/pcc/seeded',
      '',
      '[Service]',
      'Type=oneshot',
      'RemainAfterExit=yes',
      'ExecStart=/usr/local/sbin/pcc-seed',
      '',
      '[Install]',
      'WantedBy=sysinit.target',
      '',
    ].join('\n'),
    mode: 0o644,
  },
  // Every host forwards, as local hosts do (set there from outside the netns): the overlay relays and swarm's containers need it.
  'etc/sysctl.d/60-pcc.conf': { content: 'net.ipv4.ip_forward = 1\n', mode: 0o644 },
};

/**
 * Commands run on the build host with the image's root dir as `root`, after
 * the base is copied there and `proc` is mounted inside. A policy-rc.d keeps
 * apt from starting services in the chroot. Order matters.
 */
export function vmBuildCommands(root: string): string[][] {
  const inRoot = (...argv: string[]) => ['chroot', root, ...argv];
  return [
    ['sh', '-c', `printf '#!/bin/sh\\nexit 101\\n' > "$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"`, 'sh', root],
    inRoot('apt-get', 'update', '-q'),
    inRoot('env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...VM_EXTRA_PACKAGES),
    ['rm', '-f', `${root}/usr/sbin/policy-rc.d`],
    // nspawn only: it remounts cgroup v1 controllers nspawn makes read-only; a VM has cgroup v2, where it fails dockerd's start.
    ['rm', '-rf', `${root}/etc/systemd/system/docker.service.d/pcc-cgroups.conf`],
    // Masked in the base because nspawn hosts lack the module; the NFS client wants it.
    inRoot('systemctl', 'unmask', '--quiet', 'run-rpc_pipefs.mount'),
    inRoot('systemctl', 'enable', '--quiet', 'systemd-networkd.service', 'pcc-seed.service'),
    inRoot('apt-get', 'clean'),
    ['sh', '-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log', 'sh', root],
  ];
}

/** The kernel and initrd are booted from outside the image (`-kernel`, `-initrd`): no bootloader to install or update. */
export function kernelCommandLine(): string {
  // apparmor=0: Debian's kernel turns AppArmor on, and dockerd then refuses every container without apparmor_parser,
  // which the image (like the nspawn base, on a kernel without AppArmor) does not have.
  return `root=LABEL=${ROOT_LABEL} rw console=ttyS0 apparmor=0`;
}

/** mkfs.ext4 fills the image from the root dir in one go, no loop device or mount. */
export function mkfsArgv(root: string, image: string): string[] {
  return ['mkfs.ext4', '-q', '-L', ROOT_LABEL, '-d', root, '-E', 'root_owner=0:0', image, IMAGE_SIZE];
}

/** Bump when the build procedure changes in a way the text above does not show. */
const RECIPE_REVISION = 1;

export function vmRecipeHash(): string {
  const recipe = {
    revision: RECIPE_REVISION,
    base: baseRecipeHash(),
    files: VM_IMAGE_FILES,
    build: vmBuildCommands('ROOT'),
    mkfs: mkfsArgv('ROOT', 'IMAGE'),
  };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}
