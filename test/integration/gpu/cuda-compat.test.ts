import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../fixtures/registry.js';
import { checkCudaCompatible, cudaLabel, parseSmiHeader, type CudaHost, type DriverCuda } from '../../../src/gpu/cuda.js';
import { registryImageCuda } from '../../../src/gpu/image-cuda.js';
import type { RegistryTarget } from '../../../src/images/registry.js';

/**
 * The driver/CUDA check on nvidia-smi headers captured on real machines
 * (test/fixtures/gpu/smi-headers.txt, sources in its README) and on image
 * configs that real buildah built from Dockerfiles (FROM scratch, CUDA set by
 * ENV or LABEL) and pushed to Debian's docker-registry on loopback: the
 * image's need is read through the registry's manifest API, nothing pulled.
 */
const headers = readFileSync(path.join(import.meta.dirname, '../../fixtures/gpu/smi-headers.txt'), 'utf8').trim().split('\n');
const [a10g, v100, v100b, l40s] = headers.map((h) => parseSmiHeader(h)!) as [DriverCuda, DriverCuda, DriverCuda, DriverCuda];
const host = (name: string, d: { driverVersion: string; cuda: string }): CudaHost => ({ name, cuda: cudaLabel(d), driverVersion: d.driverVersion });

let registry: TestRegistry;
let target: RegistryTarget;
let work: string;

const images: Record<string, string> = {
  cuda124: 'ENV CUDA_VERSION=12.4.1\n',
  cuda13: 'ENV CUDA_VERSION=13.0.0\n',
  labelled: 'LABEL com.nvidia.cuda.version="11.8.0"\n',
  plain: 'ENV PATH=/bin\n',
  broken: 'ENV CUDA_VERSION=latest\n',
};

beforeAll(async () => {
  registry = await startRegistry();
  target = { host: registry.host, source: 'the test registry', plainHttp: true };
  work = mkdtempSync(path.join(tmpdir(), 'pcc-cuda-'));
  const conf = path.join(work, 'storage.conf');
  writeFileSync(conf, `[storage]\ndriver = "vfs"\nrunroot = "${work}/run"\ngraphroot = "${work}/root"\n`);
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: conf };
  for (const [name, lines] of Object.entries(images)) {
    const dir = path.join(work, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'marker'), `${name}\n`);
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM scratch\nCOPY marker /marker\n${lines}`);
    const ref = `${registry.host}/${name}:v1`;
    execFileSync('buildah', ['--storage-driver', 'vfs', 'bud', '--isolation', 'chroot', '-q', '-t', ref, dir], { env, stdio: 'ignore' });
    execFileSync('buildah', ['--storage-driver', 'vfs', 'push', '--tls-verify=false', '-q', ref], { env, stdio: 'ignore' });
  }
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('driver/CUDA compatibility (recorded nvidia-smi headers, real image configs in a real registry)', () => {
  it('reads driver version and highest CUDA from captured headers', () => {
    expect(headers.map((h) => parseSmiHeader(h))).toEqual([
      { driverVersion: '535.247.01', cuda: '12.2' },
      { driverVersion: '470.182.03', cuda: '11.4' },
      { driverVersion: '525.105.17', cuda: '12.0' },
      { driverVersion: '570.181', cuda: '12.8' },
      { driverVersion: '535.129.03', cuda: '12.2' },
    ]);
    expect(parseSmiHeader('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.')).toBeUndefined();
  });

  it("reads an image's CUDA from the CUDA_VERSION env or the com.nvidia.cuda.version label, without a pull", async () => {
    expect(await registryImageCuda(target, 'cuda124', 'v1')).toEqual({ cuda: '12.4', from: 'CUDA_VERSION=12.4.1' });
    expect(await registryImageCuda(target, 'labelled', 'v1')).toEqual({ cuda: '11.8', from: 'label com.nvidia.cuda.version=11.8.0' });
    expect(await registryImageCuda(target, 'plain', 'v1')).toBeUndefined();
    await expect(registryImageCuda(target, 'broken', 'v1')).rejects.toThrow('image CUDA_VERSION=latest: not a CUDA version like 12.4.1; fix the image\'s ENV or LABEL');
    await expect(registryImageCuda(target, 'missing', 'v1')).rejects.toThrow(`${registry.host}/missing:v1 is not in the registry; push it first (pcc build)`);
  });

  it('refuses, with the numbers, an image that needs a newer CUDA than any matching host supports', async () => {
    const need = await registryImageCuda(target, 'cuda124', 'v1');
    expect(() => checkCudaCompatible(need, [host('gpu1', a10g), host('gpu2', v100)])).toThrow(
      'the image needs CUDA 12.4 (CUDA_VERSION=12.4.1) but the newest any matching host supports is 12.2 (gpu1: driver 535.247.01, CUDA 12.2; gpu2: driver 470.182.03, CUDA 11.4); use an image built for CUDA 12.2 or older, or a host with a newer driver',
    );
    const cu13 = await registryImageCuda(target, 'cuda13', 'v1');
    expect(() => checkCudaCompatible(cu13, [host('gpu3', l40s)])).toThrow(/^the image needs CUDA 13\.0 \(CUDA_VERSION=13\.0\.0\) but the newest any matching host supports is 12\.8 /);
  });

  it('places work only on hosts whose driver runs the image', async () => {
    const hosts = [host('gpu1', a10g), host('gpu2', v100), host('gpu3', l40s), host('gpu4', v100b)];
    expect(checkCudaCompatible(await registryImageCuda(target, 'cuda124', 'v1'), hosts).map((h) => h.name)).toEqual(['gpu3']);
    expect(checkCudaCompatible(await registryImageCuda(target, 'labelled', 'v1'), hosts).map((h) => h.name)).toEqual(['gpu1', 'gpu3', 'gpu4']);
    expect(checkCudaCompatible(await registryImageCuda(target, 'plain', 'v1'), hosts)).toHaveLength(4);
    expect(() => checkCudaCompatible({ cuda: '12.4', from: 'CUDA_VERSION=12.4.1' }, [{ name: 'gpu9' }])).toThrow(
      'the image needs CUDA 12.4 (CUDA_VERSION=12.4.1) but no matching host has a known CUDA version; run pcc setup on the GPU hosts',
    );
  });
});
