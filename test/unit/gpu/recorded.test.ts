import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGpu, type GpuInfo } from '../../../src/facts/host.js';
import type { Fact } from '../../../src/facts/fact.js';
import type { FileState } from '../../../src/facts/files.js';
import { testClusterPlan } from '../../fixtures/cluster-plan.js';
import { recordedHost } from '../../fixtures/recorded-host.js';
import { driverFlavour, generationOfDevice, generationOfModel } from '../../../src/gpu/generation.js';
import { nvidiaProvisioning } from '../../../src/gpu/flatcar.js';
import type { Operation } from '../../../src/ops/operation.js';
import { gpuPlan, type GpuHostFacts } from '../../../playbooks/gpu.js';
import setupPlaybook from '../../../playbooks/setup.js';

// Fact outputs in test/fixtures/gpu/: which lines were captured and which composed is in its README.
const recorded = (name: string) => parseGpu(readFileSync(path.join(import.meta.dirname, '../../fixtures/gpu', name), 'utf8'));
const ubuntu = { id: 'ubuntu', idLike: ['debian'], versionId: '22.04', prettyName: 'Ubuntu 22.04.4 LTS' };
const flatcar = { id: 'flatcar', idLike: [], versionId: '4230.2.0', prettyName: 'Flatcar Container Linux by Kinvolk 4230.2.0 (Oklo)' };
const plan = testClusterPlan();

const A10G_UUID = 'GPU-00000000-0000-0000-0000-0000000a10a1';
const V100_UUID = 'GPU-8e2712fe-6590-250e-8b90-280dbc470b41';
const merged = (...names: string[]): GpuHostFacts => ({ dockerInstalled: true, nvidiaCtk: true, extensions: names });

/** Plans one op against file contents by path (absent where not given). */
function planned(op: Operation, files: Record<string, string> = {}, changed: Operation[] = []) {
  const read = ((fact: Fact<unknown>) => {
    const file = /^file:(.*)$/.exec(fact.key)?.[1] ?? fact.reads?.[0];
    const content = file !== undefined ? files[file] : undefined;
    if (fact.key.startsWith('exists:') || fact.key.startsWith('path-exists')) return false;
    if (fact.key.startsWith('succeeds') || fact.key.startsWith('command-succeeds')) return false;
    const st: FileState = content === undefined ? { exists: false } : ({ exists: true, type: 'file', mode: '0644', content: Buffer.from(content) } as FileState);
    return st;
  }) as never;
  return op.plan(read, { changed: (o) => changed.includes(o) });
}
const written = (op: Operation, files: Record<string, string> = {}) => {
  const change = planned(op, files);
  const argv = change?.commands[0]?.argv.join(' ') ?? '';
  return { change, text: change?.commands.map((c) => c.stdin ?? '').join('') + argv };
};
const names = (list: Operation[]) => list.map((o) => o.name);

describe('GPU facts on recorded nvidia-smi / PCI outputs (no GPU on this machine)', () => {
  it('finds NVIDIA devices by PCI vendor 10de and class 03xx, GPUs and CUDA from nvidia-smi', () => {
    expect(recorded('flatcar-g5-a10g.txt')).toEqual({
      nvidia: true,
      devices: [{ device: 0x2237 }],
      gpus: [{ uuid: A10G_UUID, name: 'NVIDIA A10G', memoryMiB: 23028, driverVersion: '535.247.01' }],
      driver: { driverVersion: '535.247.01', cuda: '12.2' },
      driverLoaded: true,
    });
    expect(recorded('flatcar-p3-v100.txt')).toEqual({
      nvidia: true,
      devices: [{ device: 0x1db1 }],
      gpus: [{ uuid: V100_UUID, name: 'Tesla V100-SXM2-16GB', memoryMiB: 16160, driverVersion: '470.182.03' }],
      driver: { driverVersion: '470.182.03', cuda: '11.4' },
      driverLoaded: true,
    });
    expect(recorded('ubuntu-g4dn-t4-no-driver.txt')).toEqual({
      nvidia: true,
      devices: [{ device: 0x1eb8, name: 'TU104GL [Tesla T4]' }],
      gpus: [],
      driverLoaded: false,
    });
    expect(recorded('c6i-no-gpu.txt')).toEqual({ nvidia: false, devices: [], gpus: [], driverLoaded: false });
  });

  it('driver flavour by generation: open for Turing and newer, proprietary for Volta, older refused with the fix', () => {
    expect(driverFlavour('A10G', generationOfDevice(0x2237))).toBe('open');
    expect(driverFlavour('T4', generationOfDevice(0x1eb8))).toBe('open');
    expect(driverFlavour('H100', generationOfDevice(0x2330))).toBe('open');
    expect(driverFlavour('V100', generationOfDevice(0x1db1))).toBe('proprietary');
    expect(driverFlavour('V100 PCIe', generationOfDevice(0x1df0))).toBe('proprietary');
    expect(() => driverFlavour('Tesla K80', generationOfDevice(0x102d))).toThrow(
      'Tesla K80 is a Pascal or older GPU: pcc supports Volta (V100) and newer NVIDIA GPUs; pick another instance type, e.g. g5.xlarge (A10G) or p3.2xlarge (V100)',
    );
    // AWS DescribeInstanceTypes names, as acquire sees them
    expect(['A10G', 'T4', 'T4g', 'L4', 'L40S', 'A100', 'H100', 'H200', 'B200'].map((m) => generationOfModel(m).family)).toEqual(Array(9).fill('turing+'));
    expect(['V100'].map((m) => generationOfModel(m).family)).toEqual(['volta']);
    expect(['K80', 'M60', 'K520'].map((m) => generationOfModel(m).family)).toEqual(['older', 'older', 'older']);
    expect(nvidiaProvisioning('V100', '570', 'v1.17.9').driverSysext).toBe('nvidia-drivers-570');
    expect(nvidiaProvisioning('A10G', '550', 'v1.17.9').driverSysext).toBe('nvidia-drivers-550-open');
    expect(() => nvidiaProvisioning('K80', '570', 'v1.17.9', 'p2.xlarge (NVIDIA K80)')).toThrow(/^p2\.xlarge \(NVIDIA K80\) is a Pascal or older GPU: /);
  });
});

describe('the GPU plan on each recorded host', () => {
  it('no GPU (c6i): nothing', () => {
    expect(gpuPlan(ubuntu, recorded('c6i-no-gpu.txt'), merged(), plan)).toEqual({ host: [], docker: [], verify: [], last: [], rebooting: false });
  });

  it('Flatcar A10G with both sysexts merged: verifies, swarm resource, daemon.json; no reboot, CUDA 12.2', () => {
    const p = gpuPlan(flatcar, recorded('flatcar-g5-a10g.txt'), merged('flatcar-nvidia-drivers-570-open.raw', 'nvidia-runtime.raw'), plan);
    expect(names(p.host)).toEqual([
      'line /etc/flatcar/enabled-sysext.conf: nvidia-drivers-570-open',
      'line /etc/nvidia-container-runtime/config.toml: swarm-resource = "DOCKER_RESOURCE_GPU"',
    ]);
    expect(names(p.docker)).toEqual(['json /etc/docker/daemon.json']);
    expect(names(p.verify)).toEqual(['docker nvidia runtime registered']);
    expect(p.last).toEqual([]);
    expect(p.rebooting).toBe(false);
    expect(p.cuda).toBe('12.2');
    // As Ignition wrote it: nothing to change.
    expect(planned(p.host[0]!, { '/etc/flatcar/enabled-sysext.conf': 'nvidia-drivers-570-open\n' })).toBeUndefined();
    // The runtime sysext's config.toml keeps the line commented: it is uncommented where it stands, before [nvidia-container-cli].
    const toml = '#accept-nvidia-visible-devices-as-volume-mounts = false\ndisable-require = false\n#swarm-resource = "DOCKER_RESOURCE_GPU"\n\n[nvidia-container-cli]\nload-kmods = true\n';
    expect(written(p.host[1]!, { '/etc/nvidia-container-runtime/config.toml': toml }).text).toContain(
      '#accept-nvidia-visible-devices-as-volume-mounts = false\ndisable-require = false\nswarm-resource = "DOCKER_RESOURCE_GPU"\n\n[nvidia-container-cli]\n',
    );
    // dockerd gets `nvidia` from the sysext's --add-runtime flag: daemon.json must not declare it again.
    const daemon = written(p.docker[0]!, {
      '/etc/docker/daemon.json': JSON.stringify({ 'insecure-registries': ['10.214.0.1:5000'], runtimes: { nvidia: { path: 'x' } } }),
    }).text;
    expect(daemon).toContain(
      JSON.stringify({ 'insecure-registries': ['10.214.0.1:5000'], 'default-runtime': 'nvidia', 'node-generic-resources': [`gpu=${A10G_UUID}`] }, null, 2),
    );
  });

  it('Flatcar V100 on the proprietary sysext: nvidia-drivers-570, CUDA 11.4', () => {
    const p = gpuPlan(flatcar, recorded('flatcar-p3-v100.txt'), merged('flatcar-nvidia-drivers-570.raw', 'nvidia-runtime.raw'), plan);
    expect(names(p.host)[0]).toBe('line /etc/flatcar/enabled-sysext.conf: nvidia-drivers-570');
    expect(p.rebooting).toBe(false);
    expect(p.cuda).toBe('11.4');
  });

  it('Flatcar V100 that drifted to the open driver (nothing loads): fixes enabled-sysext.conf and reboots itself', () => {
    const drifted: GpuInfo = { ...recorded('flatcar-p3-v100.txt'), gpus: [], driverLoaded: false };
    delete drifted.driver;
    const p = gpuPlan(flatcar, drifted, merged('flatcar-nvidia-drivers-570-open.raw', 'nvidia-runtime.raw'), plan);
    expect(names(p.host)).toEqual(['line /etc/flatcar/enabled-sysext.conf: nvidia-drivers-570']);
    expect(names(p.last)).toEqual(['reboot (fetch nvidia-drivers-570 at boot)']);
    expect(p.rebooting).toBe(true);
    expect(p.docker).toEqual([]);
    expect(written(p.host[0]!, { '/etc/flatcar/enabled-sysext.conf': 'python\nnvidia-drivers-570-open\n' }).text).toContain('python\nnvidia-drivers-570\n');
    expect(planned(p.last[0]!)?.commands[0]?.argv).toEqual(['systemd-run', '--on-active=5', '--unit=pcc-reboot', 'systemctl', 'reboot']);
  });

  it('Flatcar A10G whose runtime sysext is gone: downloads and merges it again, no reboot', () => {
    const p = gpuPlan(flatcar, recorded('flatcar-g5-a10g.txt'), merged('flatcar-nvidia-drivers-570-open.raw'), plan);
    expect(names(p.host)[1]).toBe('nvidia-runtime sysext v1.17.9');
    expect(planned(p.host[1]!)?.commands[0]?.argv).toEqual([
      'sh',
      '-c',
      'mkdir -p /opt/extensions/nvidia-runtime && curl -fsSL --retry 3 -o /opt/extensions/nvidia-runtime/nvidia-runtime-v1.17.9-x86-64.raw.part https://extensions.flatcar.org/extensions/nvidia-runtime-v1.17.9-x86-64.raw && mv /opt/extensions/nvidia-runtime/nvidia-runtime-v1.17.9-x86-64.raw.part /opt/extensions/nvidia-runtime/nvidia-runtime-v1.17.9-x86-64.raw && ln -sfn /opt/extensions/nvidia-runtime/nvidia-runtime-v1.17.9-x86-64.raw /etc/extensions/nvidia-runtime.raw && systemctl restart systemd-sysext',
    ]);
    expect(p.rebooting).toBe(false);
  });

  it('Flatcar with a K80-class device: refused with one line', () => {
    const k80: GpuInfo = { nvidia: true, devices: [{ device: 0x102d, name: 'GK210GL [Tesla K80]' }], gpus: [], driverLoaded: false };
    const p = gpuPlan(flatcar, k80, merged(), plan);
    expect(names(p.host)).toEqual(['nvidia gpu']);
    expect(() => planned(p.host[0]!)).toThrow(
      'NVIDIA GK210GL [Tesla K80] is a Pascal or older GPU: pcc supports Volta (V100) and newer NVIDIA GPUs; pick another instance type, e.g. g5.xlarge (A10G) or p3.2xlarge (V100)',
    );
  });

  it("DLAMI (Ubuntu, docker-ce and the toolkit installed): configures what is there, keeps the AMI's runtime entry", () => {
    const p = gpuPlan(ubuntu, recorded('dlami-g5-a10g.txt'), merged(), plan);
    expect(names(p.host)).toEqual(['line /etc/nvidia-container-runtime/config.toml: swarm-resource = "DOCKER_RESOURCE_GPU"']);
    expect(names(p.docker)).toEqual(['json /etc/docker/daemon.json']);
    const ami = { runtimes: { nvidia: { args: [], path: 'nvidia-container-runtime' } } };
    expect(written(p.docker[0]!, { '/etc/docker/daemon.json': JSON.stringify(ami) }).text).toContain(
      JSON.stringify({ ...ami, 'default-runtime': 'nvidia', 'node-generic-resources': [`gpu=${A10G_UUID}`] }, null, 2),
    );
    expect(p.cuda).toBe('12.2');
  });

  it('Ubuntu with a driver but without the toolkit: NVIDIA apt repository, then the toolkit', () => {
    const p = gpuPlan(ubuntu, recorded('dlami-g5-a10g.txt'), { dockerInstalled: true, nvidiaCtk: false, extensions: [] }, plan);
    expect(names(p.host)).toEqual([
      'nvidia container toolkit signing key',
      'file /etc/apt/sources.list.d/nvidia-container-toolkit.list',
      'packages nvidia-container-toolkit',
      'line /etc/nvidia-container-runtime/config.toml: swarm-resource = "DOCKER_RESOURCE_GPU"',
    ]);
    expect(written(p.docker[0]!, {}).text).toContain('"nvidia": {\n      "path": "nvidia-container-runtime"');
  });

  it('Ubuntu without a driver (g4dn T4): refused with the fix in one line', () => {
    const p = gpuPlan(ubuntu, recorded('ubuntu-g4dn-t4-no-driver.txt'), merged(), plan);
    expect(names(p.host)).toEqual(['nvidia gpu']);
    expect(() => planned(p.host[0]!)).toThrow(
      'NVIDIA GPU found but no driver answers (nvidia-smi); use a Deep Learning AMI (EC2_GPU_AMI=dlami) or install the NVIDIA driver',
    );
  });

  it('another OS: refused with one line', () => {
    const p = gpuPlan({ id: 'fedora', idLike: [], versionId: '40', prettyName: 'Fedora Linux 40' }, recorded('dlami-g5-a10g.txt'), merged(), plan);
    expect(() => planned(p.host[0]!)).toThrow('GPU setup supports Flatcar and Debian/Ubuntu, not Fedora Linux 40; use the Flatcar or Deep Learning AMI');
  });
});

describe('the setup playbook on a recorded DLAMI host', () => {
  const gpuHost = (answers: Record<string, unknown>) => recordedHost(answers, { name: 'gpu1', groups: ['gpu'] });

  it('installs no other docker, restarts docker once after every daemon.json change, outputs gpu and cuda', async () => {
    const { host, added, outputs } = gpuHost({
      'os-release': ubuntu,
      'nfs-client': false,
      gpu: recorded('dlami-g5-a10g.txt'),
      'gpu-host': merged(),
      docker: { installed: true, running: true },
      'cpu-flags': ['avx2'],
    });
    await setupPlaybook.run(host, plan);
    const opNames = names(added);
    expect(opNames[0]).toBe('packages wireguard-tools wireguard-go');
    expect(opNames.filter((n) => n.includes('docker.io'))).toEqual([]);
    expect(opNames.filter((n) => n === 'service docker.service')).toHaveLength(1);
    const restart = opNames.indexOf('service docker.service');
    expect(opNames.slice(0, restart).filter((n) => n === 'json /etc/docker/daemon.json')).toHaveLength(2);
    expect(opNames[restart + 1]).toBe('docker nvidia runtime registered');
    expect(outputs).toEqual({ projectMounted: false, gpu: true, cuda: '12.2', cpuFlags: ['avx2'] });
  });

  it('a plain Ubuntu without docker gets docker.io', async () => {
    const { host, added } = gpuHost({
      'os-release': ubuntu,
      'nfs-client': false,
      gpu: recorded('c6i-no-gpu.txt'),
      'gpu-host': { dockerInstalled: false, nvidiaCtk: false, extensions: [] },
      docker: { installed: false, running: false },
      'cpu-flags': [],
    });
    await setupPlaybook.run(host, plan);
    expect(added[0]!.name).toBe('packages docker.io wireguard-tools wireguard-go');
  });
});
