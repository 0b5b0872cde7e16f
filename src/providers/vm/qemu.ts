import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ipToInt } from '../../network/ipv4.js';
import { kernelCommandLine } from './recipe.js';

/** How QEMU runs the guest: KVM where it works, else software emulation (TCG, roughly ten times slower). */
export type Accel = 'kvm' | 'tcg';

/** An extra disk: a data volume, found in the guest under /dev/disk/by-id/virtio-<serial>. */
export interface VmDisk {
  file: string;
  /** virtio-blk serials hold at most 20 bytes. */
  serial: string;
}

/** What QEMU needs to run one VM. */
export interface VmSpec {
  /** Unique on this machine (it carries the project id): QEMU's `-name`, for `ps`. */
  id: string;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  kernel: string;
  initrd: string;
  /** The VM's own qcow2 overlay on the image. */
  disk: string;
  /** The seed disk (see seed.ts). */
  seed: string;
  tap: string;
  mac: string;
  consoleLog: string;
  pidFile: string;
  qmpSocket: string;
  volumes?: VmDisk[];
}

/**
 * The VM's QEMU command line. No default devices: the one serial port goes to
 * the console log (appended, so a reboot's boot follows the last one), the
 * network is a tap on the site bridge, and disks are virtio. `-cpu host` only
 * under KVM (TCG cannot do it). Reboots stay inside QEMU, which boots the
 * same kernel again: setup's reboot-and-wait needs that.
 */
export function qemuArgv(v: VmSpec): string[] {
  return [
    'qemu-system-x86_64',
    '-name', `${v.id},process=${v.id}`,
    '-nodefaults',
    '-no-user-config',
    '-accel', v.accel,
    ...(v.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', String(v.memoryMiB),
    '-smp', String(v.cpus),
    '-display', 'none',
    '-chardev', `file,id=console,path=${v.consoleLog},append=on`,
    '-serial', 'chardev:console',
    '-pidfile', v.pidFile,
    '-qmp', `unix:${v.qmpSocket},server=on,wait=off`,
    '-kernel', v.kernel,
    '-initrd', v.initrd,
    '-append', kernelCommandLine(),
    '-drive', `file=${v.disk},if=none,id=root,format=qcow2,discard=unmap`,
    '-device', 'virtio-blk-pci,drive=root',
    '-drive', `file=${v.seed},if=none,id=seed,format=raw,readonly=on`,
    '-device', 'virtio-blk-pci,drive=seed',
    '-netdev', `tap,id=net0,ifname=${v.tap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=net0,mac=${v.mac}`,
    ...(v.volumes ?? []).flatMap((d, i) => [
      '-drive', `file=${d.file},if=none,id=vol${i},format=raw`,
      '-device', `virtio-blk-pci,drive=vol${i},serial=${d.serial}`,
    ]),
  ];
}

/**
 * A data volume plugged into a running VM (ACPI PCI hotplug): the same
 * virtio disk and serial a boot with it gives, without the second boot
 * that costs a minute under software emulation.
 */
export function hotplugDiskCommands(d: VmDisk): QmpCommand[] {
  const id = `hot-${d.serial}`;
  return [
    { execute: 'blockdev-add', arguments: { 'node-name': id, driver: 'raw', file: { driver: 'file', filename: d.file } } },
    { execute: 'device_add', arguments: { driver: 'virtio-blk-pci', id, drive: id, serial: d.serial } },
  ];
}

/** The VM's disk: a copy-on-write overlay on the shared image, so a VM costs what it writes. */
export function overlayDiskArgv(image: string, disk: string): string[] {
  return ['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', image, '-F', 'raw', disk];
}

/**
 * The tap's name, in this machine's namespace like the local hosts' veths: a
 * `t`, the project id's first 6 digits and the whole address, 15 characters.
 */
export function tapName(projectId: string, ip: string): string {
  return `t${projectId.slice(0, 6)}${ipToInt(ip).toString(16).padStart(8, '0')}`;
}

/** A persistent tap on the site bridge: it outlives QEMU, so a crashed VM's link is found and removed by name. */
export function createTapArgvs(tap: string, bridge: string): string[][] {
  return [
    ['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'],
    ['ip', 'link', 'set', tap, 'master', bridge, 'up'],
  ];
}

export function deleteTapArgv(tap: string): string[] {
  return ['ip', 'link', 'del', tap];
}

/** The PID still belongs to the QEMU that runs `disk` (PIDs get reused) and it has not exited. */
export function isQemuProcess(pid: number | undefined, disk: string): boolean {
  if (pid === undefined) return false;
  try {
    if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('qemu-system-x86_64')) && argv.some((a) => a.startsWith(`file=${disk},`));
  } catch {
    return false;
  }
}

/** QEMUs running `disk`, for VMs whose PID was never recorded (a kill mid-start). */
export function findQemuProcesses(disk: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => isQemuProcess(pid, disk));
}

/**
 * Sends QMP commands in order and resolves when each was answered (or
 * rejects on an error reply or a socket error). Used for `system_powerdown`:
 * the guest's ACPI power button, an orderly shutdown.
 */
export type QmpCommand = string | { execute: string; arguments: Record<string, unknown> };

export function qmp(socketPath: string, commands: QmpCommand[], timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    let sent = 0;
    const queue: QmpCommand[] = ['qmp_capabilities', ...commands];
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`QMP on ${socketPath} did not answer within ${timeoutMs / 1000} s`)));
    socket.on('error', (err) => done(err));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc?: string } };
        if (msg.error) return done(new Error(`QMP: ${msg.error.desc ?? 'error'}`));
        // The greeting, or the answer to the last command sent: send the next.
        if (msg.QMP !== undefined || msg.return !== undefined) {
          if (sent === queue.length) return done();
          const next = queue[sent++]!;
          socket.write(`${JSON.stringify(typeof next === 'string' ? { execute: next } : next)}\n`);
        }
      }
    });
  });
}

export function processAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Until `alive` says no or `ms` pass; whether it ended. */
export async function waitGone(alive: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive()) return true;
    await sleep(100);
  }
  return !alive();
}
