import { describe, expect, it } from 'vitest';
import { childCgroupDirs } from '../../../../src/providers/local/cgroups.js';
import { inCgroupsArgv, nspawnArgv } from '../../../../src/providers/local/machine.js';
import { mountsBelow, overlayMountArgv } from '../../../../src/providers/local/mounts.js';
import {
  allocateAddress,
  bridgeName,
  cloudBridgeName,
  createBridgeArgvs,
  createCloudBridgeArgvs,
  createRouterArgvs,
  deleteRouterArgvs,
  routerName,
  createHostNetworkArgvs,
  deleteHostNetworkArgvs,
  macFor,
  netnsName,
  parseSubnet,
  vethName,
} from '../../../../src/providers/local/network.js';
import { requireRoot, requireTools } from '../../../../src/providers/local/preflight.js';
import {
  debianMirrorFromSources,
  debootstrapArgv,
  finishCommands,
  recipeHash,
} from '../../../../src/providers/local/recipe.js';

describe('local provider: network builders', () => {
  const subnet = parseSubnet('10.213.0.0/24', 'LOCAL_SUBNET');

  it('bridge: fixed MAC, the first address, up', () => {
    expect(createBridgeArgvs('pcc-br0', subnet)).toEqual([
      ['ip', 'link', 'add', 'name', 'pcc-br0', 'address', '02:00:0a:d5:00:01', 'type', 'bridge'],
      ['ip', 'addr', 'add', '10.213.0.1/24', 'dev', 'pcc-br0'],
      ['ip', 'link', 'set', 'pcc-br0', 'up'],
    ]);
  });

  it('veth names on the default subnets: cloud1 (10.212.0.2) never takes the controller\'s (10.213.0.2) link', () => {
    const id = '0123456789ab';
    const names = ['10.213.0.2', '10.213.0.3', '10.212.0.2', '10.212.0.3'].map((ip) => vethName(id, ip));
    expect(new Set(names).size).toBe(4);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(15);
  });

  it('host: netns, veth with host0 inside, MACs derived from the address, a way out through the home router, forwarding inside', () => {
    const id = '0123456789ab';
    const h = { netns: netnsName(id, 'local1'), veth: vethName(id, '10.213.0.2'), address: '10.213.0.2', prefix: 24, bridge: 'pcc-br0', gateway: '10.213.0.254' };
    expect(createHostNetworkArgvs(h)).toEqual([
      ['ip', 'netns', 'add', 'pcc-0123456789ab-local1'],
      ['ip', 'link', 'add', 'v0123450ad50002', 'address', '02:01:0a:d5:00:02', 'type', 'veth',
        'peer', 'name', 'host0', 'address', '02:00:0a:d5:00:02', 'netns', 'pcc-0123456789ab-local1'],
      ['ip', 'link', 'set', 'v0123450ad50002', 'master', 'pcc-br0', 'up'],
      ['ip', '-n', 'pcc-0123456789ab-local1', 'link', 'set', 'lo', 'up'],
      ['ip', '-n', 'pcc-0123456789ab-local1', 'addr', 'add', '10.213.0.2/24', 'dev', 'host0'],
      ['ip', '-n', 'pcc-0123456789ab-local1', 'link', 'set', 'host0', 'up'],
      ['ip', '-n', 'pcc-0123456789ab-local1', 'route', 'add', 'default', 'via', '10.213.0.254'],
      ['ip', 'netns', 'exec', 'pcc-0123456789ab-local1', 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'],
    ]);
    // A cloud host has no route home at all.
    expect(createHostNetworkArgvs({ ...h, gateway: undefined }).some((a) => a.includes('route'))).toBe(false);
    expect(deleteHostNetworkArgvs(h)).toEqual([
      ['ip', 'netns', 'del', 'pcc-0123456789ab-local1'],
      ['ip', 'link', 'del', 'v0123450ad50002'],
    ]);
  });

  it('the same address always gets the same MAC', () => {
    expect(macFor('10.213.0.2', 0)).toBe(macFor('10.213.0.2', 0));
    expect(macFor('10.213.0.2', 0)).not.toBe(macFor('10.213.0.3', 0));
    expect(macFor('192.168.1.254', 1)).toBe('02:01:c0:a8:01:fe');
  });

  it('allocates the lowest free address from .2 and says when the subnet is full', () => {
    const where = 'config/local.env: LOCAL_SUBNET';
    expect(allocateAddress(subnet, [], where)).toBe('10.213.0.2');
    expect(allocateAddress(subnet, ['10.213.0.2', '10.213.0.4'], where)).toBe('10.213.0.3');
    // The last address is the home router's.
    const tiny = parseSubnet('10.1.2.0/29', where);
    expect(allocateAddress(tiny, ['10.1.2.2', '10.1.2.3', '10.1.2.4'], where)).toBe('10.1.2.5');
    expect(() => allocateAddress(tiny, ['10.1.2.2', '10.1.2.3', '10.1.2.4', '10.1.2.5'], where)).toThrow(
      /^config\/local.env: LOCAL_SUBNET=10.1.2.0\/29 has no free address/,
    );
  });

  it('sites: a cloud bridge without this machine on it, and a NAT router that lets only replies come home', () => {
    const s = { home: parseSubnet('10.213.0.0/24'), homeBridge: 'pcc-0123456789', cloud: parseSubnet('10.212.0.0/24'), cloudBridge: cloudBridgeName('0123456789ab'), router: routerName('0123456789ab') };
    expect(s.cloudBridge).toBe('pcl-0123456789');
    expect(createCloudBridgeArgvs(s.cloudBridge, s.cloud)).toEqual([
      ['ip', 'link', 'add', 'name', 'pcl-0123456789', 'address', '02:00:0a:d4:00:00', 'type', 'bridge'],
      ['ip', 'link', 'set', 'pcl-0123456789', 'up'],
    ]);
    const inR = ['ip', 'netns', 'exec', 'pcc-0123456789ab-router'];
    expect(createRouterArgvs(s)).toEqual([
      ['ip', 'netns', 'add', 'pcc-0123456789ab-router'],
      ['ip', 'link', 'add', 'vr0123456789h', 'address', '02:01:0a:d5:00:fe', 'type', 'veth', 'peer', 'name', 'home', 'address', '02:00:0a:d5:00:fe', 'netns', 'pcc-0123456789ab-router'],
      ['ip', 'link', 'set', 'vr0123456789h', 'master', 'pcc-0123456789', 'up'],
      ['ip', 'link', 'add', 'vr0123456789c', 'address', '02:01:0a:d4:00:01', 'type', 'veth', 'peer', 'name', 'cloud', 'address', '02:00:0a:d4:00:01', 'netns', 'pcc-0123456789ab-router'],
      ['ip', 'link', 'set', 'vr0123456789c', 'master', 'pcl-0123456789', 'up'],
      ['ip', '-n', 'pcc-0123456789ab-router', 'link', 'set', 'lo', 'up'],
      ['ip', '-n', 'pcc-0123456789ab-router', 'addr', 'add', '10.213.0.254/24', 'dev', 'home'],
      ['ip', '-n', 'pcc-0123456789ab-router', 'link', 'set', 'home', 'up'],
      ['ip', '-n', 'pcc-0123456789ab-router', 'addr', 'add', '10.212.0.1/24', 'dev', 'cloud'],
      ['ip', '-n', 'pcc-0123456789ab-router', 'link', 'set', 'cloud', 'up'],
      [...inR, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'],
      [...inR, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.213.0.0/24', '-o', 'cloud', '-j', 'MASQUERADE'],
      [...inR, 'iptables', '-A', 'FORWARD', '-i', 'cloud', '-o', 'home', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      [...inR, 'iptables', '-A', 'FORWARD', '-i', 'cloud', '-o', 'home', '-j', 'DROP'],
      ['ip', 'route', 'replace', '10.212.0.0/24', 'via', '10.213.0.254', 'dev', 'pcc-0123456789'],
    ]);
    expect(deleteRouterArgvs(s)).toEqual([
      ['ip', 'netns', 'del', 'pcc-0123456789ab-router'],
      ['ip', 'link', 'del', 'vr0123456789h'],
      ['ip', 'link', 'del', 'vr0123456789c'],
    ]);
  });

  it('bridge name: LOCAL_BRIDGE, else one per project (its id); bad values name the setting', () => {
    expect(bridgeName('0123456789ab')).toBe('pcc-0123456789');
    expect(bridgeName('0123456789ab', 'mybr')).toBe('mybr');
    expect(() => bridgeName('0123456789ab', 'a-name-that-is-too-long')).toThrow(/^LOCAL_BRIDGE=a-name-that-is-too-long is not a valid interface name/);
    expect(() => parseSubnet('10.213.0.1/24')).toThrow(/has host bits set; use 10.213.0.0\/24/);
    expect(() => parseSubnet('10.213.0.0/31')).toThrow(/^LOCAL_SUBNET=10.213.0.0\/31 is invalid/);
  });
});

describe('local provider: machine builders', () => {
  it('nspawn: booted, in its netns, unregistered, with docker on a real filesystem', () => {
    expect(nspawnArgv({ name: 'local1', root: '/run/pcc/local/n1', netns: 'n1', dockerDir: '/p/.pcc/local/local1/docker' })).toEqual([
      'systemd-nspawn', '-q', '-b', '-D', '/run/pcc/local/n1', '-M', 'n1', '--hostname=local1',
      '--network-namespace-path=/run/netns/n1', '--register=no', '--keep-unit', '--console=read-only',
      '--capability=CAP_NET_ADMIN', '--system-call-filter=@keyring', '--bind=/dev/net/tun',
      '--bind=/p/.pcc/local/local1/docker:/var/lib/docker',
    ]);
  });

  it('nspawn for the controller: ganesha syscalls, export and registry binds, .pcc hidden', () => {
    const argv = nspawnArgv({
      name: 'init', root: '/r', netns: 'n', dockerDir: '/d',
      binds: ['/p:/project-export', '/p/.pcc/registry:/var/lib/docker-registry'],
      tmpfs: ['/project-export/.pcc'],
      syscalls: ['open_by_handle_at'],
    });
    expect(argv.slice(-6)).toEqual([
      '--system-call-filter=open_by_handle_at', '--bind=/dev/net/tun', '--bind=/d:/var/lib/docker',
      '--bind=/p:/project-export', '--bind=/p/.pcc/registry:/var/lib/docker-registry', '--tmpfs=/project-export/.pcc',
    ]);
  });

  it('moves itself into the cgroups, then execs nspawn', () => {
    expect(inCgroupsArgv(['/sys/fs/cgroup/cpu/x', '/sys/fs/cgroup/unified/x'], ['systemd-nspawn', '-b'])).toEqual([
      'sh', '-c', 'for f; do [ "$f" = -- ] && break; echo $$ > "$f"; shift; done; shift; exec "$@"', 'sh',
      '/sys/fs/cgroup/cpu/x/cgroup.procs', '/sys/fs/cgroup/unified/x/cgroup.procs', '--', 'systemd-nspawn', '-b',
    ]);
  });

  it('finds a child cgroup in every hierarchy, below our own (recorded hybrid v1 layout)', () => {
    const mountinfo = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
    ].join('\n');
    const self = ['9:name=systemd:/', '4:memory:/job/42', '2:cpu,cpuacct:/', '0::/'].join('\n');
    expect(childCgroupDirs('pcc-h', self, mountinfo)).toEqual([
      '/sys/fs/cgroup/systemd/pcc-h',
      '/sys/fs/cgroup/memory/job/42/pcc-h',
      '/sys/fs/cgroup/cpu,cpuacct/pcc-h',
      '/sys/fs/cgroup/unified/pcc-h',
    ]);
  });

  it('overlay mount and the mounts below a dir, deepest first', () => {
    expect(overlayMountArgv({ lower: '/b', upper: '/u', work: '/w', merged: '/m' })).toEqual([
      'mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=/b,upperdir=/u,workdir=/w', '/m',
    ]);
    const mounts = [
      'overlay /run/pcc/local/a overlay rw 0 0',
      'proc /run/pcc/local/a/proc proc rw 0 0',
      'overlay /run/pcc/local/ab overlay rw 0 0',
      'tmpfs /run/pcc/local/a/with\\040space tmpfs rw 0 0',
    ].join('\n');
    expect(mountsBelow('/run/pcc/local/a', mounts)).toEqual([
      '/run/pcc/local/a/proc',
      '/run/pcc/local/a/with space',
      '/run/pcc/local/a',
    ]);
  });
});

describe('local provider: base recipe', () => {
  it('debootstrap: minbase with the packages hosts and the controller need', () => {
    const argv = debootstrapArgv('/cache/.build', 'http://mirror/debian');
    expect(argv.slice(0, 2)).toEqual(['debootstrap', '--variant=minbase']);
    expect(argv.slice(-3)).toEqual(['bookworm', '/cache/.build', 'http://mirror/debian']);
    for (const p of ['systemd', 'dbus', 'openssh-server', 'docker.io', 'wireguard-go', 'nfs-ganesha', 'docker-registry']) {
      expect(argv[2]!.split(/[=,]/)).toContain(p);
    }
  });

  it('finishing: empty machine-id, no host keys, units off, timers gone, apt cleaned last', () => {
    const cmds = finishCommands('/b').map((c) => c.join(' '));
    expect(cmds).toContain('sh -c : > "$1/etc/machine-id" sh /b');
    expect(cmds).toContain('sh -c rm -f "$1"/etc/ssh/ssh_host_* sh /b');
    expect(cmds).toContain('chroot /b systemctl disable --quiet docker-registry.service nfs-ganesha.service rpcbind.service rpcbind.socket');
    expect(cmds).toContain('chroot /b systemctl mask --quiet run-rpc_pipefs.mount');
    expect(cmds.at(-2)).toBe('chroot /b apt-get clean');
  });

  it('the recipe hash is stable and short', () => {
    expect(recipeHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(recipeHash()).toBe(recipeHash());
  });

  it('mirror: the first full Debian mirror in one-line or deb822 sources', () => {
    const deb822 = [
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: bookworm-security',
    ].join('\n');
    expect(debianMirrorFromSources([deb822])).toBe('http://deb.debian.org/debian');
    const oneLine = [
      '# deb http://commented.example/debian bookworm main',
      'deb http://security.debian.org/debian-security bookworm-security main',
      'deb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian bookworm main contrib',
    ].join('\n');
    expect(debianMirrorFromSources([oneLine, deb822])).toBe('http://ftp.de.debian.org/debian');
    const securityOnly = deb822.split('\n\n')[1]!;
    expect(debianMirrorFromSources(['', securityOnly])).toBeUndefined();
  });
});

describe('local provider: preflight', () => {
  it('non-root: one line that says nspawn needs root', () => {
    expect(() => requireRoot(1000)).toThrow(/^the local provider runs hosts with systemd-nspawn, which needs root; run pcc as root/);
    expect(() => requireRoot(0)).not.toThrow();
  });

  it('missing tools: one line with the apt-get command', () => {
    expect(() => requireTools(['systemd-nspawn', 'ip', 'debootstrap'], '/nonexistent')).toThrow(
      /^the local provider needs systemd-nspawn; install with: apt-get install --no-install-recommends systemd-container$/,
    );
    expect(() => requireTools(['definitely-not-a-tool-pcc'], '/usr/bin')).toThrow(/apt-get install --no-install-recommends definitely-not-a-tool-pcc/);
  });
});
