export { defineFact, type Fact } from './fact.js';
export { cpuCount, cpuFlags, docker, gpu, osFamily, osRelease, parseGpu, systemd } from './host.js';
export type { DockerInfo, GpuInfo, NvidiaGpu, NvidiaPciDevice, OsRelease, SystemdInfo } from './host.js';
export { commandOutput, commandSucceeds, fileState, pathExists, type FileState } from './files.js';
export { debPackages } from './packages.js';
export { unitState, type UnitState } from './systemd-unit.js';
export { blockDevice, parseBlockDevice, type BlockDevice, type BlockDeviceMatch, type DeviceContent } from './block-device.js';
export { mountScope, packageScope, serviceScope, tree } from './scope.js';
