import { parseSmiHeader, type DriverCuda } from '../gpu/cuda.js';
import { defineFact } from './fact.js';

export interface OsRelease {
  id: string;
  idLike: string[];
  versionId: string;
  prettyName: string;
}

export const osRelease = defineFact<OsRelease>({
  key: 'os-release',
  script: 'cat /etc/os-release /usr/lib/os-release 2>/dev/null | head -n 50',
  parse(out) {
    const kv = Object.fromEntries(
      out
        .split('\n')
        .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .reverse()
        .map((m) => [m[1]!, m[2]!.replace(/^["']|["']$/g, '')]),
    );
    return {
      id: kv.ID ?? 'unknown',
      idLike: (kv.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
      versionId: kv.VERSION_ID ?? '',
      prettyName: kv.PRETTY_NAME ?? kv.ID ?? 'unknown',
    };
  },
  stable: true,
});

/** Debian, Ubuntu and friends manage packages with apt; Flatcar ships everything in the image. */
export function osFamily(os: OsRelease): 'debian' | 'flatcar' | 'other' {
  if (os.id === 'flatcar' || os.id === 'coreos') return 'flatcar';
  if (os.id === 'debian' || os.id === 'ubuntu' || os.idLike.includes('debian')) return 'debian';
  return 'other';
}

export const cpuCount = defineFact<number>({
  key: 'cpu-count',
  script: 'nproc',
  parse: (out) => Number.parseInt(out.trim(), 10),
  stable: true,
});

export const cpuFlags = defineFact<string[]>({
  key: 'cpu-flags',
  script: "grep -m1 -E '^(flags|Features)' /proc/cpuinfo | cut -d: -f2",
  parse: (out) => out.trim().split(/\s+/).filter(Boolean),
  stable: true,
});

export interface NvidiaPciDevice {
  /** PCI device id (sysfs `device`), which says the chip generation. */
  device: number;
  /** lspci's name for it, e.g. `GA102GL [A10G]`, where lspci is installed. */
  name?: string;
}

export interface NvidiaGpu {
  uuid: string;
  name: string;
  memoryMiB: number;
  driverVersion: string;
}

export interface GpuInfo {
  /** An NVIDIA display-class device (vendor 10de, class 03xx) on the PCI bus. */
  nvidia: boolean;
  devices: NvidiaPciDevice[];
  /** What nvidia-smi lists; empty when no driver answers. */
  gpus: NvidiaGpu[];
  /** Driver version and highest CUDA it supports, from the nvidia-smi header. */
  driver?: DriverCuda;
  driverLoaded: boolean;
}

/**
 * Reads the PCI bus straight from sysfs (lspci is not on every image) and asks
 * nvidia-smi only when it exists: its CSV query for the GPUs and its header
 * for the CUDA version. Parsed by `parseGpu`, which the tests feed outputs
 * captured on real GPU machines.
 */
export const gpu = defineFact<GpuInfo>({
  key: 'gpu',
  script: [
    'for d in /sys/bus/pci/devices/*; do [ -r "$d/vendor" ] && printf "pci %s %s %s\\n" "$(cat "$d/vendor")" "$(cat "$d/device")" "$(cat "$d/class")"; done',
    'command -v lspci >/dev/null 2>&1 && lspci -nn | sed "s/^/lspci /"',
    'command -v nvidia-smi >/dev/null 2>&1 && { nvidia-smi --query-gpu=uuid,name,memory.total,driver_version --format=csv 2>&1 | sed "s/^/smi /"; nvidia-smi 2>&1 | grep -m1 "Driver Version" | sed "s/^/smihead /"; }',
    'true',
  ].join('; '),
  parse: (out) => parseGpu(out),
});

export function parseGpu(out: string): GpuInfo {
  const byId = new Map<number, NvidiaPciDevice>();
  const gpus: NvidiaGpu[] = [];
  let driver: DriverCuda | undefined;
  for (const line of out.split('\n')) {
    // sysfs: "pci 0x10de 0x2237 0x030200"
    const pci = /^pci 0x([0-9a-f]{4}) 0x([0-9a-f]{4}) 0x03[0-9a-f]{4}/i.exec(line);
    if (pci && pci[1]!.toLowerCase() === '10de') {
      const device = Number.parseInt(pci[2]!, 16);
      byId.set(device, byId.get(device) ?? { device });
    }
    // lspci -nn: "00:1e.0 3D controller [0302]: NVIDIA Corporation GA102GL [A10G] [10de:2237] (rev a1)"
    const ls = /^lspci \S+ [^[]*\[03[0-9a-f]{2}\]: NVIDIA Corporation (.+?) \[10de:([0-9a-f]{4})\]/i.exec(line);
    if (ls) {
      const device = Number.parseInt(ls[2]!, 16);
      byId.set(device, { device, name: ls[1]! });
    }
    // nvidia-smi --query-gpu=uuid,name,memory.total,driver_version --format=csv
    const smi = /^smi (GPU-[0-9a-f-]+),\s*(.+?),\s*(\d+) MiB,\s*([\d.]+)\s*$/i.exec(line);
    if (smi) gpus.push({ uuid: smi[1]!, name: smi[2]!, memoryMiB: Number(smi[3]), driverVersion: smi[4]! });
    if (line.startsWith('smihead ')) driver = parseSmiHeader(line) ?? driver;
  }
  const devices = [...byId.values()];
  return {
    nvidia: devices.length > 0 || gpus.length > 0,
    devices,
    gpus,
    ...(driver ? { driver } : {}),
    driverLoaded: gpus.length > 0,
  };
}

export interface DockerInfo {
  installed: boolean;
  running: boolean;
}

export const docker = defineFact<DockerInfo>({
  key: 'docker',
  script: 'command -v docker >/dev/null 2>&1 && echo installed; docker info --format "{{.ServerVersion}}" >/dev/null 2>&1 && echo running; true',
  parse: (out) => ({ installed: out.includes('installed'), running: out.includes('running') }),
});

export interface SystemdInfo {
  /** PID 1 is systemd, so units can be managed. */
  running: boolean;
}

export const systemd = defineFact<SystemdInfo>({
  key: 'systemd',
  script: '[ -d /run/systemd/system ] && echo yes || echo no',
  parse: (out) => ({ running: out.trim() === 'yes' }),
  stable: true,
});
