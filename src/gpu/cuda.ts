import { PccError } from '../core/errors.js';

/**
 * Driver/CUDA compatibility: a driver runs CUDA up to the version its
 * nvidia-smi header names; an image needs the CUDA it was built for. The most
 * reported GPU failure (a 535 driver under cu13 wheels) is an image whose CUDA
 * is newer than the driver's, so that is what is refused before work is placed.
 */

export interface DriverCuda {
  driverVersion: string;
  /** Highest CUDA the driver supports, `major.minor` (e.g. `12.2`). */
  cuda: string;
}

/** `| NVIDIA-SMI 535.183.01   Driver Version: 535.183.01   CUDA Version: 12.2 |` */
export function parseSmiHeader(text: string): DriverCuda | undefined {
  const m = /Driver Version:\s*([\d.]+)\s+CUDA Version:\s*(\d+\.\d+)/.exec(text);
  return m ? { driverVersion: m[1]!, cuda: m[2]! } : undefined;
}

export interface ImageCudaNeed {
  /** `major.minor`, what is compared. */
  cuda: string;
  /** Where it was read, with the value as written, e.g. `CUDA_VERSION=12.4.1`. */
  from: string;
}

interface ImageConfig {
  config?: { Env?: string[] | null; Labels?: Record<string, string> | null } | null;
}

/**
 * What CUDA an image needs, from its config blob: NVIDIA's images set the
 * `CUDA_VERSION` env; others carry the `com.nvidia.cuda.version` label. An
 * image that declares neither is not checked.
 */
export function imageCudaNeed(config: ImageConfig): ImageCudaNeed | undefined {
  const env = (config.config?.Env ?? []).map((e) => /^CUDA_VERSION=(.*)$/.exec(e)?.[1]).find((v) => v !== undefined);
  const label = config.config?.Labels?.['com.nvidia.cuda.version'];
  for (const [value, from] of [
    [env, `CUDA_VERSION=${env}`],
    [label, `label com.nvidia.cuda.version=${label}`],
  ] as const) {
    if (value === undefined) continue;
    const m = /^(\d+)\.(\d+)/.exec(value.trim());
    if (!m) throw new PccError(`image ${from}: not a CUDA version like 12.4.1; fix the image's ENV or LABEL`);
    return { cuda: `${Number(m[1])}.${Number(m[2])}`, from };
  }
  return undefined;
}

/** Compares `major.minor` versions numerically (12.10 > 12.9). */
// Not semver: both sides are already `major.minor` (imageCudaNeed, the smi header), so two numbers compare without coerce and a dependency.
export function compareCuda(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

export interface CudaHost {
  name: string;
  /** The host's `pcc.cuda` label: highest CUDA its driver supports; undefined when unknown. */
  cuda?: string;
  driverVersion?: string;
}

/**
 * The hosts whose driver runs the image's CUDA, or a one-line refusal with
 * the numbers (the image's need, each host's driver and CUDA) and the fix.
 * An image that declares no CUDA fits every host.
 */
export function checkCudaCompatible(imageNeeds: ImageCudaNeed | undefined, hosts: readonly CudaHost[]): CudaHost[] {
  if (!imageNeeds) return [...hosts];
  const known = hosts.filter((h): h is CudaHost & { cuda: string } => h.cuda !== undefined);
  const fit = known.filter((h) => compareCuda(h.cuda, imageNeeds.cuda) >= 0);
  if (fit.length > 0) return fit;
  if (known.length === 0) {
    throw new PccError(`the image needs CUDA ${imageNeeds.cuda} (${imageNeeds.from}) but no matching host has a known CUDA version; run pcc setup on the GPU hosts`);
  }
  const best = known.reduce((a, b) => (compareCuda(b.cuda, a.cuda) > 0 ? b : a));
  // A swarm node's `pcc.cuda` label carries the CUDA alone, not the driver's version.
  const each = known.map((h) => `${h.name}: ${h.driverVersion ? `driver ${h.driverVersion}, ` : ''}CUDA ${h.cuda}`).join('; ');
  throw new PccError(
    `the image needs CUDA ${imageNeeds.cuda} (${imageNeeds.from}) but the newest any matching host supports is ${best.cuda} (${each}); use an image built for CUDA ${best.cuda} or older, or a host with a newer driver`,
  );
}

/** The swarm node label value (`pcc.cuda`) for a host, from what setup read; undefined without a driver. */
export function cudaLabel(driver: DriverCuda | undefined): string | undefined {
  return driver?.cuda;
}
