import { createHash } from 'node:crypto';

/**
 * The cached Debian base every local host boots from (as its overlay's lower
 * dir). Everything that shapes the base lives in this file and goes into
 * `recipeHash()`, so that changing any of it builds a new base and an old
 * one is never mistaken for it. Nothing here depends on settings: the same
 * base serves every project and subnet; per-host details (addresses, keys,
 * the registry's subnets) go into each host's upper dir instead.
 */
export const BASE_SUITE = 'bookworm';

export const BASE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'libpam-systemd',
  'openssh-server',
  'docker.io',
  'wireguard-go',
  'wireguard-tools',
  'nfs-ganesha',
  'nfs-ganesha-vfs',
  'rpcbind',
  'libnfs-utils',
  'docker-registry',
  'curl',
  'iproute2',
  'iputils-ping',
  'ca-certificates',
  'procps',
  'rsync',
] as const;

export const DEBIAN_FALLBACK_MIRROR = 'http://deb.debian.org/debian';

export function debootstrapArgv(dir: string, mirror: string): string[] {
  return [
    'debootstrap',
    '--variant=minbase',
    `--include=${BASE_PACKAGES.join(',')}`,
    BASE_SUITE,
    dir,
    mirror,
  ];
}

/**
 * Services the base ships disabled: the controller's setup turns on what it
 * needs, and compute hosts should boot fast and quiet. Timers are found in the
 * tree rather than listed (see `finishCommands`).
 */
export const DISABLED_UNITS = ['docker-registry.service', 'nfs-ganesha.service', 'rpcbind.service', 'rpcbind.socket'];

/** rpc_pipefs needs a kernel module the host may not have; masked so boot stays clean. */
export const MASKED_UNITS = ['run-rpc_pipefs.mount'];

/** Files written into the base, path (relative to its root) to content. */
export const BASE_FILES: Readonly<Record<string, string>> = {
  // nspawn mounts the v1 cgroup controllers read-only; dockerd needs them
  // writable or every `docker run` fails.
  'etc/systemd/system/docker.service.d/pcc-cgroups.conf': [
    '[Service]',
    `ExecStartPre=/bin/sh -c 'for d in /sys/fs/cgroup/*/; do mount -o remount,bind,rw "$d"; done'`,
    '',
  ].join('\n'),
  // Hosts have no bridge, NAT or forwarding; the per-host daemon.json adds the
  // registry's subnets (see hostFiles) but keeps these keys.
  'etc/docker/daemon.json': `${JSON.stringify(dockerDaemonConfig([]), null, 2)}\n`,
  // Each host gets only the ed25519 key pcc generates for it.
  'etc/ssh/sshd_config.d/pcc.conf': ['HostKey /etc/ssh/ssh_host_ed25519_key', 'PasswordAuthentication no', ''].join('\n'),
  // Debian's config minus its htpasswd block: the registry is reachable only
  // over the overlay or loopback, and setup writes its own config anyway.
  'etc/docker/registry/config.yml': [
    'version: 0.1',
    'log:',
    '  fields:',
    '    service: registry',
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  filesystem:',
    '    rootdirectory: /var/lib/docker-registry',
    'http:',
    '  addr: :5000',
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    'health:',
    '  storagedriver:',
    '    enabled: true',
    '    interval: 10s',
    '    threshold: 3',
    '',
  ].join('\n'),
};

export function dockerDaemonConfig(insecureRegistries: string[]): Record<string, unknown> {
  return {
    bridge: 'none',
    iptables: false,
    'ip-forward': false,
    'ip-masq': false,
    ...(insecureRegistries.length > 0 ? { 'insecure-registries': insecureRegistries } : {}),
  };
}

/**
 * Commands run after debootstrap, each an argv run on the build host with the
 * base dir as `root`. Order matters: apt-get clean goes last.
 */
export function finishCommands(root: string): string[][] {
  return [
    // An empty machine-id makes every host generate its own on first boot.
    ['sh', '-c', ': > "$1/etc/machine-id"', 'sh', root],
    ['sh', '-c', 'rm -f "$1"/etc/ssh/ssh_host_*', 'sh', root],
    ['chroot', root, 'systemctl', 'disable', '--quiet', ...DISABLED_UNITS],
    // Every timer (apt-daily, fstrim, logrotate, ...): hosts are short-lived and shouldn't wake up to do chores.
    ['sh', '-c', 'rm -f "$1"/etc/systemd/system/timers.target.wants/*.timer', 'sh', root],
    ['chroot', root, 'systemctl', 'mask', '--quiet', ...MASKED_UNITS],
    // The build host's hostname leaks in via debootstrap; each host writes its own.
    ['rm', '-f', `${root}/etc/hostname`],
    ['chroot', root, 'apt-get', 'clean'],
    ['sh', '-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log', 'sh', root],
  ];
}

/** Bump when the build procedure changes in a way the text above does not show. */
const RECIPE_REVISION = 1;

export function recipeHash(): string {
  const recipe = {
    revision: RECIPE_REVISION,
    suite: BASE_SUITE,
    argv: debootstrapArgv('ROOT', 'MIRROR'),
    files: BASE_FILES,
    finish: finishCommands('ROOT'),
  };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}

/**
 * The first full Debian mirror in apt's sources (one-line `deb` format or
 * deb822 `.sources`): an entry with a plain suite (no `-security`/`-updates`).
 */
export function debianMirrorFromSources(texts: string[]): string | undefined {
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m && !m[2]!.includes('-') && !m[2]!.includes('/')) return m[1];
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const line of stanza.split('\n')) {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
      }
      const types = (fields.get('types') ?? '').split(/\s+/);
      const suites = (fields.get('suites') ?? '').split(/\s+/);
      const uri = (fields.get('uris') ?? '').split(/\s+/)[0];
      if (uri && types.includes('deb') && suites.some((s) => s.length > 0 && !s.includes('-'))) return uri;
    }
  }
  return undefined;
}
