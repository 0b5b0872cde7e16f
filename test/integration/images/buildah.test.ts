import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../fixtures/registry.js';
import { build, dependentImage, outcomes, scratchImage, testProject, type TestProject } from '../../fixtures/images.js';

/** Real buildah (vfs, chroot isolation) pushing to Debian's docker-registry on loopback. */
let registry: TestRegistry;
let storage: string;
let t: TestProject;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  registry = await startRegistry();
  // buildah keeps its images in a store of this file's own, not in /var/lib/containers.
  storage = mkdtempSync(path.join(tmpdir(), 'pcc-buildah-'));
  const conf = path.join(storage, 'storage.conf');
  writeFileSync(conf, `[storage]\ndriver = "vfs"\nrunroot = "${storage}/run"\ngraphroot = "${storage}/root"\n`);
  process.env.CONTAINERS_STORAGE_CONF = conf;
  env = { ...process.env, REGISTRY_HOST: registry.host, PCC_BUILDER: 'buildah' };
  t = testProject();
  scratchImage(t, '100-base');
  dependentImage(t, '200-app', 'base');
});

afterAll(async () => {
  t?.remove();
  await registry?.stop();
  if (storage) {
    try {
      execFileSync('buildah', ['--storage-driver', 'vfs', 'rm', '--all'], { stdio: 'ignore' });
    } catch {
      // nothing to remove
    }
    rmSync(storage, { recursive: true, force: true });
  }
});

const buildah = (...args: string[]) => execFileSync('buildah', ['--storage-driver', 'vfs', ...args], { encoding: 'utf8' }).trim();

describe('pcc build with buildah', () => {
  it('builds and pushes base and app (PCC_BUILDER=buildah) with the digests the registry serves', async () => {
    const report = await build(t, env);
    expect(report.builder).toBe('buildah');
    expect(outcomes(report)).toEqual({ base: 'built', app: 'built' });
    expect(await registry.catalog()).toEqual(['app', 'base']);
    for (const r of report.images) {
      expect(r.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await registry.tags(r.image)).toEqual([r.hash!.slice(0, 12), 'latest'].sort());
      expect(await registry.digest(r.image, 'latest')).toBe(r.digest);
    }
    // --format docker: a Docker v2 manifest, which every docker engine pulls.
    const res = await fetch(`${registry.url}/v2/app/manifests/latest`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('skips what did not change, and fetches the base over plain HTTP when only the app changed', async () => {
    expect(outcomes(await build(t, env))).toEqual({ base: 'skipped', app: 'skipped' });
    // An empty local store: the base must come from the registry, by its content tag.
    buildah('rmi', '--all', '--force');
    writeFileSync(path.join(t.root, 'docker/200-app/marker'), 'app v2\n');
    const report = await build(t, env);
    expect(outcomes(report)).toEqual({ base: 'skipped', app: 'built' });
    expect(await registry.digest('app', 'latest')).toBe(report.images[1]!.digest);
    const state = JSON.parse(readFileSync(path.join(t.root, '.pcc/state.json'), 'utf8')) as { images: Record<string, { digest: string }> };
    expect(state.images.app!.digest).toBe(report.images[1]!.digest);
  });

  it('--builder overrides PCC_BUILDER', async () => {
    writeFileSync(path.join(t.root, 'docker/100-base/marker'), 'base v2\n');
    const report = await build(t, { ...env, PCC_BUILDER: 'docker' }, { builder: 'buildah' });
    expect(report.builder).toBe('buildah');
    expect(outcomes(report)).toEqual({ base: 'built', app: 'built' });
    expect(report.images[1]!.reason).toBe('base changed');
  });
});
