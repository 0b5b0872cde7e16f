import { PccError } from '../core/errors.js';

/**
 * Which NVIDIA kernel driver a GPU needs. NVIDIA's open kernel modules run on
 * Turing and newer only; Volta (V100) needs the proprietary build; older chips
 * (Pascal, Maxwell, Kepler: p2's K80, g3's M60) are refused, since the drivers
 * Flatcar ships as sysexts (535, 550, 570) are the ones pcc tests against
 * Volta and newer.
 */
export type DriverFlavour = 'open' | 'proprietary';

export interface Generation {
  family: 'turing+' | 'volta' | 'older';
  /** Chip family as a person knows it, for messages. */
  label: string;
}

/** Official Flatcar sysext names are `nvidia-drivers-<series>` and `nvidia-drivers-<series>-open` (flatcar/scripts build_library/extra_sysexts.sh). */
export const FLATCAR_DRIVER_SERIES = ['535', '550', '570'] as const;
export type DriverSeries = (typeof FLATCAR_DRIVER_SERIES)[number];

/**
 * By PCI device id (sysfs `device`, lspci's `[10de:XXXX]`): every Turing,
 * Ampere, Ada, Hopper and Blackwell id is 0x1e00 or above (TU102 starts at
 * 0x1e02); GV100 (Volta) sits at 0x1d81, 0x1db0-0x1dbf and 0x1df0-0x1dff.
 */
export function generationOfDevice(deviceId: number): Generation {
  if (deviceId >= 0x1e00) return { family: 'turing+', label: 'Turing or newer' };
  if (deviceId === 0x1d81 || (deviceId >= 0x1db0 && deviceId <= 0x1dbf) || (deviceId >= 0x1df0 && deviceId <= 0x1dff)) {
    return { family: 'volta', label: 'Volta' };
  }
  return { family: 'older', label: 'Pascal or older' };
}

const VOLTA = /\b(V100|TITAN V|GV100)/i;
const OLDER = /\b(K\d{2,3}|M\d{2}|P\d{1,3}|GP\d{3}|GM\d{3}|GK\d{3}|GRID K\d+)\b/i;

/**
 * By model name, as AWS (DescribeInstanceTypes: `V100`, `A10G`, `K80`) or
 * nvidia-smi (`Tesla V100-SXM2-16GB`, `NVIDIA A10G`) write it. A name pcc does
 * not know is taken for a newer chip: new instance types bring new GPUs.
 */
export function generationOfModel(model: string): Generation {
  if (VOLTA.test(model)) return { family: 'volta', label: 'Volta' };
  if (OLDER.test(model)) return { family: 'older', label: 'Pascal or older' };
  return { family: 'turing+', label: 'Turing or newer' };
}

/** The driver flavour for a generation, or a one-line refusal naming the GPU and the fix. */
export function driverFlavour(gpu: string, generation: Generation): DriverFlavour {
  if (generation.family === 'turing+') return 'open';
  if (generation.family === 'volta') return 'proprietary';
  throw new PccError(
    `${gpu} is a ${generation.label} GPU: pcc supports Volta (V100) and newer NVIDIA GPUs; pick another instance type, e.g. g5.xlarge (A10G) or p3.2xlarge (V100)`,
  );
}

/** `nvidia-drivers-570-open` for Turing+, `nvidia-drivers-570` for Volta. */
export function driverSysext(series: DriverSeries, flavour: DriverFlavour): string {
  return `nvidia-drivers-${series}${flavour === 'open' ? '-open' : ''}`;
}
