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

export interface GpuInfo {
  /** An NVIDIA device on the PCI bus (vendor 10de, class 03xx). */
  nvidia: boolean;
  /** Model names from nvidia-smi, when the driver is loaded. */
  models: string[];
  driverLoaded: boolean;
}

/**
 * Reads the PCI bus straight from sysfs (lspci is not on every image) and asks
 * nvidia-smi only when it exists. Parsed by `parseGpu`, which the tests feed
 * outputs recorded on real GPU machines.
 */
export const gpu = defineFact<GpuInfo>({
  key: 'gpu',
  script: [
    'for d in /sys/bus/pci/devices/*; do [ -r "$d/vendor" ] && printf "pci %s %s\\n" "$(cat "$d/vendor")" "$(cat "$d/class")"; done',
    'command -v lspci >/dev/null 2>&1 && lspci -nn | sed "s/^/lspci /"',
    'command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sed "s/^/smi /"',
    'true',
  ].join('; '),
  parse: (out) => parseGpu(out),
  stable: true,
});

export function parseGpu(out: string): GpuInfo {
  let nvidia = false;
  const models: string[] = [];
  for (const line of out.split('\n')) {
    const pci = /^pci 0x([0-9a-f]{4}) 0x(03[0-9a-f]{4})/i.exec(line);
    if (pci && pci[1]!.toLowerCase() === '10de') nvidia = true;
    // lspci -nn: "... 3D controller [0302]: NVIDIA Corporation GA102GL [A10G] [10de:2237] (rev a1)"
    if (/^lspci .*\[03[0-9a-f]{2}\]: .*\[10de:[0-9a-f]{4}\]/i.test(line)) nvidia = true;
    const smi = /^smi (.+?),\s*([\d.]+)\s*$/.exec(line);
    if (smi) models.push(smi[1]!.trim());
  }
  return { nvidia: nvidia || models.length > 0, models, driverLoaded: models.length > 0 };
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
