import { driverFlavour, driverSysext, generationOfModel, type DriverSeries } from './generation.js';

/**
 * What a Flatcar GPU host gets at first boot, as Flatcar documents it
 * (flatcar.org docs, "Using NVIDIA GPUs on Flatcar", prebuilt sysext method):
 * the official driver sysext named in /etc/flatcar/enabled-sysext.conf, which
 * the initrd fetches from the release server before the system starts, and the
 * NVIDIA container toolkit as the sysext-bakery `nvidia-runtime` image that
 * Ignition downloads to /opt/extensions and links into /etc/extensions. No
 * legacy `nvidia.service` (which compiles the driver after boot, 5-10 minutes).
 */
export interface NvidiaProvisioning {
  /** e.g. `nvidia-drivers-570-open`: one line of /etc/flatcar/enabled-sysext.conf. */
  driverSysext: string;
  runtime: RuntimeSysext;
}

export interface RuntimeSysext {
  url: string;
  /** Where the image is kept. */
  path: string;
  /** The link systemd-sysext merges. */
  link: string;
}

export const ENABLED_SYSEXT_CONF = '/etc/flatcar/enabled-sysext.conf';
export const RUNTIME_SYSEXT_LINK = '/etc/extensions/nvidia-runtime.raw';

/** The bakery's x86-64 nvidia-runtime sysext of a release, e.g. `v1.17.9`. */
export function runtimeSysext(version: string): RuntimeSysext {
  const file = `nvidia-runtime-${version}-x86-64.raw`;
  return {
    url: `https://extensions.flatcar.org/extensions/${file}`,
    path: `/opt/extensions/nvidia-runtime/${file}`,
    link: RUNTIME_SYSEXT_LINK,
  };
}

/**
 * First-boot NVIDIA setup for an instance type whose GPU model the cloud
 * names (AWS DescribeInstanceTypes: `A10G`, `V100`, `K80`): the flavour
 * follows the generation, and an unsupported GPU is refused before launch.
 */
export function nvidiaProvisioning(gpuModel: string, series: DriverSeries, runtimeVersion: string, shown = gpuModel): NvidiaProvisioning {
  const flavour = driverFlavour(shown, generationOfModel(gpuModel));
  return { driverSysext: driverSysext(series, flavour), runtime: runtimeSysext(runtimeVersion) };
}
