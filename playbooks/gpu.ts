// The GPU path, decided by facts. A Flatcar GPU host got its NVIDIA driver and
// container toolkit sysexts at first boot (Ignition, see src/gpu/flatcar.ts);
// setup checks them, repairs what drifted (rebooting itself when the driver
// sysext must be fetched again) and configures docker. A Debian/Ubuntu host
// (the Deep Learning AMI) keeps the docker and driver it has; setup adds the
// container toolkit where missing and configures that docker. Either way
// docker gets the `nvidia` runtime, swarm learns each GPU by UUID, and the
// host's CUDA capability comes back for the `pcc.cuda` node label.
import type { ClusterPlan } from '../src/fleet/cluster.js';
import { ENABLED_SYSEXT_CONF, runtimeSysext } from '../src/gpu/flatcar.js';
import { driverFlavour, driverSysext, generationOfDevice, generationOfModel, type Generation } from '../src/gpu/generation.js';
import { cudaLabel } from '../src/gpu/cuda.js';
import { OperationRefusedError } from '../src/core/errors.js';
import { cmd, quote } from '../src/remote/shell.js';
import { facts, ops, type HostContext } from '../src/index.js';
import type { GpuInfo, OsRelease } from '../src/facts/index.js';

export const RUNTIME_CONFIG = '/etc/nvidia-container-runtime/config.toml';
export const SWARM_RESOURCE_LINE = 'swarm-resource = "DOCKER_RESOURCE_GPU"';
const TOOLKIT_KEYRING = '/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg';
const TOOLKIT_LIST = '/etc/apt/sources.list.d/nvidia-container-toolkit.list';

/** What else the GPU path reads from a host, besides the OS and the GPU fact. */
export interface GpuHostFacts {
  /** Some docker is installed (docker-ce, docker.io, Flatcar's own). */
  dockerInstalled: boolean;
  /** The NVIDIA container toolkit's CLI is on PATH. */
  nvidiaCtk: boolean;
  /** Names in /etc/extensions (Flatcar): `flatcar-nvidia-drivers-570-open.raw`, `nvidia-runtime.raw`. */
  extensions: string[];
}

export const gpuHostFacts = facts.defineFact<GpuHostFacts>({
  key: 'gpu-host',
  script: [
    'command -v docker >/dev/null 2>&1 && echo docker',
    'command -v nvidia-ctk >/dev/null 2>&1 && echo ctk',
    'ls -1 /etc/extensions 2>/dev/null | sed "s/^/ext /"',
    'true',
  ].join('; '),
  parse: (out) => {
    const lines = out.split('\n').map((l) => l.trim());
    return {
      dockerInstalled: lines.includes('docker'),
      nvidiaCtk: lines.includes('ctk'),
      extensions: lines.filter((l) => l.startsWith('ext ')).map((l) => l.slice(4)),
    };
  },
});

export interface GpuPlan {
  /** Host changes before docker is configured: sysexts, toolkit, runtime config. */
  host: ops.Operation[];
  /** daemon.json changes; docker restarts once after them (with the registry's). */
  docker: ops.Operation[];
  /** Checks after docker restarted: the runtime is registered. */
  verify: ops.Operation[];
  /** The host's last operation: a reboot, after which setup waits for it and runs again. */
  last: ops.Operation[];
  rebooting: boolean;
  /** Highest CUDA the driver supports, for the `pcc.cuda` node label. */
  cuda?: string;
}

const NONE: GpuPlan = { host: [], docker: [], verify: [], last: [], rebooting: false };

/** The GPU operations for a host, from its facts alone (tested on captured outputs). */
export function gpuPlan(os: OsRelease, gpu: GpuInfo, host: GpuHostFacts, plan: ClusterPlan): GpuPlan {
  if (!gpu.nvidia) return NONE;
  const family = facts.osFamily(os);
  if (family === 'flatcar') return flatcarPlan(gpu, host, plan);
  if (family === 'debian') return debianPlan(gpu, host);
  return { ...NONE, host: [refuse(`GPU setup supports Flatcar and Debian/Ubuntu, not ${os.prettyName}; use the Flatcar or Deep Learning AMI`)] };
}

function flatcarPlan(gpu: GpuInfo, host: GpuHostFacts, plan: ClusterPlan): GpuPlan {
  let wanted: string;
  try {
    const { shown, generation } = generationOnBus(gpu);
    wanted = driverSysext(plan.nvidia.driverSeries, driverFlavour(shown, generation));
  } catch (err) {
    return { ...NONE, host: [refuse((err as Error).message)] };
  }
  // The initrd fetches what this file names, so a wrong or missing line is only repaired by a reboot.
  const conf = ops.lineInFile(ENABLED_SYSEXT_CONF, { line: wanted, match: /^nvidia-drivers-/, mode: '0644' });
  const hostOps: ops.Operation[] = [conf];
  const runtime = runtimeSysext(plan.nvidia.runtimeVersion);
  if (!host.extensions.includes('nvidia-runtime.raw')) {
    // A bakery sysext merges at runtime (no reboot): download, link, restart systemd-sysext.
    const dir = runtime.path.slice(0, runtime.path.lastIndexOf('/'));
    hostOps.push(
      ops.command(
        `mkdir -p ${quote(dir)} && curl -fsSL --retry 3 -o ${quote(`${runtime.path}.part`)} ${quote(runtime.url)} && mv ${quote(`${runtime.path}.part`)} ${quote(runtime.path)} && ln -sfn ${quote(runtime.path)} ${quote(runtime.link)} && systemctl restart systemd-sysext`,
        { name: `nvidia-runtime sysext ${plan.nvidia.runtimeVersion}`, creates: runtime.link },
      ),
    );
  }
  const driverMerged = host.extensions.includes(`flatcar-${wanted}.raw`);
  if (!driverMerged || !gpu.driverLoaded) {
    if (driverMerged) return { ...NONE, host: [refuse(driverSilent(wanted))] };
    return { ...NONE, host: hostOps, last: [reboot(`fetch ${wanted} at boot`)], rebooting: true };
  }
  hostOps.push(swarmResource());
  // The runtime sysext registers `nvidia` with dockerd's --add-runtime flag; the same runtime in daemon.json would stop dockerd.
  const daemon = daemonJson(gpu, false);
  return { ...NONE, host: hostOps, docker: [daemon], verify: [runtimeRegistered()], ...cuda(gpu) };
}

function debianPlan(gpu: GpuInfo, host: GpuHostFacts): GpuPlan {
  if (!gpu.driverLoaded) {
    return {
      ...NONE,
      host: [refuse('NVIDIA GPU found but no driver answers (nvidia-smi); use a Deep Learning AMI (EC2_GPU_AMI=dlami) or install the NVIDIA driver')],
    };
  }
  if (!host.dockerInstalled) return { ...NONE, host: [refuse('no docker on this host; install docker before pcc setup configures its NVIDIA runtime')] };
  const hostOps: ops.Operation[] = [];
  if (!host.nvidiaCtk) {
    // NVIDIA's apt repository, as its install guide writes it; a Deep Learning AMI has the toolkit already.
    hostOps.push(
      ops.command(`curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor -o ${TOOLKIT_KEYRING}`, {
        name: 'nvidia container toolkit signing key',
        creates: TOOLKIT_KEYRING,
      }),
      ops.file(TOOLKIT_LIST, {
        content: `deb [signed-by=${TOOLKIT_KEYRING}] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n`,
        mode: '0644',
      }),
      ops.packages(['nvidia-container-toolkit']),
    );
  }
  hostOps.push(swarmResource());
  return { ...NONE, host: hostOps, docker: [daemonJson(gpu, true)], verify: [runtimeRegistered()], ...cuda(gpu) };
}

/** Generation by PCI device id (always there); the name shown is lspci's or nvidia-smi's where known. */
function generationOnBus(gpu: GpuInfo): { shown: string; generation: Generation } {
  const device = gpu.devices[0];
  const model = gpu.gpus[0]?.name;
  const shown = model ?? (device?.name ? `NVIDIA ${device.name}` : `NVIDIA device 10de:${(device?.device ?? 0).toString(16).padStart(4, '0')}`);
  if (device) {
    // The oldest GPU on the bus decides: one driver serves them all.
    const generations = gpu.devices.map((d) => generationOfDevice(d.device));
    const order = ['older', 'volta', 'turing+'];
    const oldest = generations.reduce((a, b) => (order.indexOf(b.family) < order.indexOf(a.family) ? b : a));
    return { shown, generation: oldest };
  }
  return { shown, generation: generationOfModel(shown) };
}

function driverSilent(sysext: string): string {
  return `the ${sysext} sysext is merged but nvidia-smi does not answer; check 'journalctl -b -u systemd-sysext' and 'dmesg | grep -i nvidia' on the host`;
}

/**
 * docker's side: GPUs as swarm generic resources (`gpu=<UUID>`, one per GPU,
 * replacing pcc's earlier list), `nvidia` as the default runtime so swarm
 * tasks (which cannot ask for a runtime) get their assigned GPUs, and on
 * Debian the runtime itself where docker does not know it yet.
 */
export function daemonJson(gpu: GpuInfo, declareRuntime: boolean): ops.Operation {
  const resources = gpu.gpus.map((g) => `gpu=${g.uuid}`);
  return ops.jsonFile('/etc/docker/daemon.json', (d) => {
    const others = Array.isArray(d['node-generic-resources'])
      ? (d['node-generic-resources'] as unknown[]).filter((r) => typeof r !== 'string' || !r.startsWith('gpu='))
      : [];
    const runtimes = { ...((d.runtimes as Record<string, unknown> | undefined) ?? {}) };
    if (declareRuntime && !runtimes.nvidia) runtimes.nvidia = { path: 'nvidia-container-runtime', args: [] };
    if (!declareRuntime) delete runtimes.nvidia;
    const next: Record<string, unknown> = { ...d, 'default-runtime': 'nvidia', 'node-generic-resources': [...others, ...resources] };
    if (Object.keys(runtimes).length > 0) next.runtimes = runtimes;
    else delete next.runtimes;
    return next;
  });
}

/** The NVIDIA runtime maps swarm's assignment (`DOCKER_RESOURCE_GPU`) to devices; a top-level TOML key. */
function swarmResource(): ops.Operation {
  return ops.lineInFile(RUNTIME_CONFIG, { line: SWARM_RESOURCE_LINE, match: /^#?\s*swarm-resource\s*=/, atStart: true, mode: '0644' });
}

function runtimeRegistered(): ops.Operation {
  return ops.check('docker nvidia runtime registered', {
    succeeds: `docker info --format '{{json .Runtimes}}' | grep -q '"nvidia"'`,
    otherwise: 'docker has no nvidia runtime after setup; check /etc/docker/daemon.json and that nvidia-container-runtime is on PATH',
  });
}

/** An operation that fails with its one-line reason, after the host's other setup ran. */
function refuse(message: string): ops.Operation {
  return {
    name: 'nvidia gpu',
    facts: [],
    touches: [],
    plan() {
      throw new OperationRefusedError(message);
    },
  };
}

/** Reboots a few seconds after this run ends (so the run reports first); setup waits for the host and runs again. */
function reboot(why: string): ops.Operation {
  return {
    name: `reboot (${why})`,
    facts: [],
    touches: [ops.ANYTHING],
    plan: () => ({ commands: [cmd('systemd-run', '--on-active=5', '--unit=pcc-reboot', 'systemctl', 'reboot')], summary: 'reboot in 5s' }),
  };
}

function cuda(gpu: GpuInfo): { cuda?: string } {
  const label = cudaLabel(gpu.driver);
  return label ? { cuda: label } : {};
}

/** Reads the facts and returns the plan; setup adds its operations around docker's one restart. */
export async function readGpuPlan(host: HostContext, plan: ClusterPlan): Promise<GpuPlan & { gpu: GpuInfo }> {
  const [os, gpu, more] = await Promise.all([host.fact(facts.osRelease), host.fact(facts.gpu), host.fact(gpuHostFacts)]);
  return { ...gpuPlan(os, gpu, more, plan), gpu };
}
