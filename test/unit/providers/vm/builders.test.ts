import { describe, expect, it } from 'vitest';
import { parseSubnet } from '../../../../src/providers/local/network.js';
import { probeArgv, probeSucceeded } from '../../../../src/providers/vm/accel.js';
import { allocateFromTop, vmVolumeDevice } from '../../../../src/providers/vm/index.js';
import { createTapArgvs, deleteTapArgv, hotplugDiskCommands, overlayDiskArgv, qemuArgv, tapName } from '../../../../src/providers/vm/qemu.js';
import { kernelCommandLine, mkfsArgv, vmBuildCommands, vmRecipeHash, VM_IMAGE_FILES } from '../../../../src/providers/vm/recipe.js';
import { networkdConfig, seedDirMode, seedFiles, seedMkfsArgv } from '../../../../src/providers/vm/seed.js';
import { requireVmTools } from '../../../../src/providers/vm/settings.js';

const PROJECT = '0123456789abcdef';

describe('vm provider: the QEMU command line', () => {
  const spec = {
    id: 'pcc-0123456789abcdef-vm1',
    accel: 'tcg' as const,
    memoryMiB: 1024,
    cpus: 2,
    kernel: '/c/vm-x/vmlinuz',
    initrd: '/c/vm-x/initrd.img',
    disk: '/p/.pcc/vm/vm1/disk.qcow2',
    seed: '/p/.pcc/vm/vm1/seed.img',
    tap: 't0123450ad500fd',
    mac: '02:00:0a:d5:00:fd',
    consoleLog: '/p/.pcc/vm/vm1/console.log',
    pidFile: '/p/.pcc/vm/vm1/qemu.pid',
    qmpSocket: '/run/pcc/vm/pcc-0123456789abcdef-vm1.qmp',
  };

  it('boots by the root label with the kernel outside the image, a tap on the bridge, serial to the console log', () => {
    expect(qemuArgv(spec)).toEqual([
      'qemu-system-x86_64',
      '-name', 'pcc-0123456789abcdef-vm1,process=pcc-0123456789abcdef-vm1',
      '-nodefaults',
      '-no-user-config',
      '-accel', 'tcg',
      '-m', '1024',
      '-smp', '2',
      '-display', 'none',
      '-chardev', 'file,id=console,path=/p/.pcc/vm/vm1/console.log,append=on',
      '-serial', 'chardev:console',
      '-pidfile', '/p/.pcc/vm/vm1/qemu.pid',
      '-qmp', 'unix:/run/pcc/vm/pcc-0123456789abcdef-vm1.qmp,server=on,wait=off',
      '-kernel', '/c/vm-x/vmlinuz',
      '-initrd', '/c/vm-x/initrd.img',
      '-append', 'root=LABEL=pcc-root rw console=ttyS0 apparmor=0',
      '-drive', 'file=/p/.pcc/vm/vm1/disk.qcow2,if=none,id=root,format=qcow2,discard=unmap',
      '-device', 'virtio-blk-pci,drive=root',
      '-drive', 'file=/p/.pcc/vm/vm1/seed.img,if=none,id=seed,format=raw,readonly=on',
      '-device', 'virtio-blk-pci,drive=seed',
      '-netdev', 'tap,id=net0,ifname=t0123450ad500fd,script=no,downscript=no',
      '-device', 'virtio-net-pci,netdev=net0,mac=02:00:0a:d5:00:fd',
    ]);
  });

  it('KVM adds -cpu host; a data volume is a virtio disk whose serial is the volume id', () => {
    const argv = qemuArgv({ ...spec, accel: 'kvm', volumes: [{ file: '/p/.pcc/vm-volumes/data.raw', serial: 'pccvol-0a1b2c3d4e5f' }] });
    expect(argv.slice(5, 9)).toEqual(['-accel', 'kvm', '-cpu', 'host']);
    expect(argv.slice(-4)).toEqual([
      '-drive', 'file=/p/.pcc/vm-volumes/data.raw,if=none,id=vol0,format=raw',
      '-device', 'virtio-blk-pci,drive=vol0,serial=pccvol-0a1b2c3d4e5f',
    ]);
  });

  it('a volume attached to a running VM is plugged in over QMP as the same virtio disk and serial', () => {
    expect(hotplugDiskCommands({ file: '/p/.pcc/vm-volumes/data.raw', serial: 'pccvol-0a1b2c3d4e5f' })).toEqual([
      { execute: 'blockdev-add', arguments: { 'node-name': 'hot-pccvol-0a1b2c3d4e5f', driver: 'raw', file: { driver: 'file', filename: '/p/.pcc/vm-volumes/data.raw' } } },
      { execute: 'device_add', arguments: { driver: 'virtio-blk-pci', id: 'hot-pccvol-0a1b2c3d4e5f', drive: 'hot-pccvol-0a1b2c3d4e5f', serial: 'pccvol-0a1b2c3d4e5f' } },
    ]);
  });

  it('the root is never /dev/vda: a data disk may take that name', () => {
    expect(kernelCommandLine()).not.toContain('/dev/vd');
  });

  it('the disk is a qcow2 overlay on the raw image', () => {
    expect(overlayDiskArgv('/c/vm-x/root.img', '/p/.pcc/vm/vm1/disk.qcow2')).toEqual([
      'qemu-img', 'create', '-q', '-f', 'qcow2', '-b', '/c/vm-x/root.img', '-F', 'raw', '/p/.pcc/vm/vm1/disk.qcow2',
    ]);
  });

  it('tap: 15 characters with the project id and the whole address, on the site bridge', () => {
    expect(tapName(PROJECT, '10.213.0.253')).toBe('t0123450ad500fd');
    // The default home and cloud subnets share their last 16 bits; the names must not.
    expect(tapName(PROJECT, '10.212.0.253')).toBe('t0123450ad400fd');
    expect(createTapArgvs('t0123450ad500fd', 'pcc-0123456789')).toEqual([
      ['ip', 'tuntap', 'add', 'dev', 't0123450ad500fd', 'mode', 'tap'],
      ['ip', 'link', 'set', 't0123450ad500fd', 'master', 'pcc-0123456789', 'up'],
    ]);
    expect(deleteTapArgv('t0123450ad500fd')).toEqual(['ip', 'link', 'del', 't0123450ad500fd']);
  });
});

describe('vm provider: KVM is checked by starting a guest', () => {
  it('the probe boots the kernel under KVM with no root, to a panic that ends QEMU', () => {
    expect(probeArgv('/c/vm-x/vmlinuz', '/tmp/p/console.log')).toEqual([
      'qemu-system-x86_64', '-nodefaults', '-no-user-config', '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-display', 'none',
      '-chardev', 'file,id=console,path=/tmp/p/console.log', '-serial', 'chardev:console', '-no-reboot',
      '-kernel', '/c/vm-x/vmlinuz', '-append', 'console=ttyS0 panic=-1',
    ]);
    expect(probeSucceeded('[    0.9] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)')).toBe(true);
    expect(probeSucceeded('')).toBe(false);
  });
});

describe('vm provider: the seed disk', () => {
  const input = {
    name: 'vm1',
    address: '10.213.0.253',
    prefix: 24,
    gateway: '10.213.0.254',
    mac: '02:00:0a:d5:00:fd',
    publicKey: 'ssh-ed25519 AAAAkey user@laptop',
    insecureRegistries: ['10.213.0.0/24', '10.214.0.0/24'],
  };

  it('networkd: the static address on the NIC with the VM\'s MAC, the NAT router as gateway', () => {
    expect(networkdConfig(input)).toBe(
      '[Match]\nMACAddress=02:00:0a:d5:00:fd\n\n[Network]\nAddress=10.213.0.253/24\nGateway=10.213.0.254\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n',
    );
    // A cloud VM has no way home, like a cloud nspawn host.
    expect(networkdConfig({ ...input, gateway: undefined })).not.toContain('Gateway=');
  });

  it('files: hostname, hosts, network, daemon.json with docker\'s own iptables (its kernel is its own), authorized_keys private', () => {
    const files = seedFiles(input);
    expect(Object.keys(files)).toEqual([
      'etc/hostname',
      'etc/hosts',
      'etc/systemd/network/10-pcc.network',
      'etc/docker/daemon.json',
      'root/.ssh/authorized_keys',
    ]);
    expect(files['etc/hostname']).toEqual({ content: 'vm1\n', mode: 0o644 });
    expect(files['etc/hosts']!.content).toBe('127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n10.213.0.253\tvm1\n');
    // Not the nspawn hosts' bridge: none / iptables: false: the swarm's ingress (--publish) needs docker's rules.
    expect(JSON.parse(files['etc/docker/daemon.json']!.content)).toEqual({ 'insecure-registries': ['10.213.0.0/24', '10.214.0.0/24'] });
    expect(files['root/.ssh/authorized_keys']).toEqual({ content: 'ssh-ed25519 AAAAkey user@laptop\n', mode: 0o600 });
  });

  it('folders the copy onto / passes through keep the image\'s modes', () => {
    expect([seedDirMode('etc'), seedDirMode('etc/ssh'), seedDirMode('root'), seedDirMode('root/.ssh')]).toEqual([0o755, 0o755, 0o700, 0o700]);
  });

  it('mkfs fills the seed and the image from a folder, no loop device', () => {
    expect(seedMkfsArgv('/p/.seed-x', '/p/seed.img')).toEqual(['mkfs.ext4', '-q', '-L', 'pcc-seed', '-d', '/p/.seed-x', '-E', 'root_owner=0:0', '/p/seed.img', '16M']);
    expect(mkfsArgv('/c/b/root', '/c/b/root.img')).toEqual(['mkfs.ext4', '-q', '-L', 'pcc-root', '-d', '/c/b/root', '-E', 'root_owner=0:0', '/c/b/root.img', '10G']);
  });
});

describe('vm provider: the image recipe', () => {
  it('the base plus the kernel and what a machine with its own kernel needs, apt in a chroot', () => {
    expect(vmBuildCommands('/R')).toEqual([
      ['sh', '-c', `printf '#!/bin/sh\\nexit 101\\n' > "$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"`, 'sh', '/R'],
      ['chroot', '/R', 'apt-get', 'update', '-q'],
      ['chroot', '/R', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends',
        'linux-image-cloud-amd64', 'udev', 'kmod', 'nfs-common', 'systemd-sysv', 'e2fsprogs'],
      ['rm', '-f', '/R/usr/sbin/policy-rc.d'],
      ['rm', '-rf', '/R/etc/systemd/system/docker.service.d/pcc-cgroups.conf'],
      ['chroot', '/R', 'systemctl', 'unmask', '--quiet', 'run-rpc_pipefs.mount'],
      ['chroot', '/R', 'systemctl', 'enable', '--quiet', 'systemd-networkd.service', 'pcc-seed.service'],
      ['chroot', '/R', 'apt-get', 'clean'],
      ['sh', '-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log', 'sh', '/R'],
    ]);
  });

  it('the root is mounted by label, and the seed applies once, before the network and sshd', () => {
    expect(VM_IMAGE_FILES['etc/fstab']!.content).toBe('LABEL=pcc-root / ext4 rw,errors=remount-ro 0 1\n');
    const unit = VM_IMAGE_FILES['etc/systemd/system/pcc-seed.service']!.content;
    expect(unit).toContain('Before=sysinit.target systemd-networkd.service ssh.service\n');
    expect(unit).toContain('ConditionPathExists=!/var/lib/pcc/seeded\n');
  });

  it('the hash is stable and 16 hex digits', () => {
    expect(vmRecipeHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(vmRecipeHash()).toBe(vmRecipeHash());
  });
});

describe('vm provider: addresses, volumes, tools', () => {
  const home = parseSubnet('10.213.0.0/24', 'LOCAL_SUBNET');

  it('VMs count down from below the router, clear of local hosts counting up', () => {
    expect(allocateFromTop(home, ['10.213.0.2'], ['10.213.0.254'], 'LOCAL_SUBNET')).toBe('10.213.0.253');
    expect(allocateFromTop(home, ['10.213.0.253'], ['10.213.0.254'], 'LOCAL_SUBNET')).toBe('10.213.0.252');
    const small = parseSubnet('10.213.0.0/30', 'LOCAL_SUBNET');
    expect(() => allocateFromTop(small, ['10.213.0.2'], [], 'LOCAL_SUBNET')).toThrow('10.213.0.0/30 has no free address left for a VM; choose a larger LOCAL_SUBNET');
  });

  it('a volume is found by its virtio serial', () => {
    expect(vmVolumeDevice({ name: 'data', provider: 'vm', sizeGiB: 1, createdAt: 'x', providerId: 'pccvol-0a1b2c3d4e5f' })).toEqual({
      what: 'volume data (pccvol-0a1b2c3d4e5f)',
      serial: 'pccvol-0a1b2c3d4e5f',
      byId: ['virtio-pccvol-0a1b2c3d4e5f'],
      names: [],
    });
  });

  it('a missing tool names the Debian package', () => {
    expect(() => requireVmTools(['qemu-system-x86_64', 'qemu-img'], '/nonexistent')).toThrow(
      'the vm provider needs qemu-system-x86_64, qemu-img; install with: apt-get install --no-install-recommends qemu-system-x86 qemu-utils',
    );
  });
});
