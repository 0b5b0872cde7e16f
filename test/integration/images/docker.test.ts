import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../../src/state/store.js';
import { withPccOnPath } from '../../fixtures/cli.js';
import { startDockerd, type TestDockerd } from '../../fixtures/dockerd.js';
import { startRegistry, type TestRegistry } from '../../fixtures/registry.js';
import { build, dependentImage, outcomes, scratchImage, testProject, type TestProject } from '../../fixtures/images.js';

/**
 * The real thing end to end: Debian's docker-registry on loopback, a private
 * dockerd, and images FROM scratch with busybox-static or FROM each other.
 */
const repoRoot = path.resolve(import.meta.dirname, '../../..');
const cli = path.join(repoRoot, 'bin/pcc.js');

let registry: TestRegistry;
let dockerd: TestDockerd;
let t: TestProject;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [registry, dockerd] = await Promise.all([startRegistry(), startDockerd()]);
  // The builder runs in this process's environment, as it would under the CLI.
  process.env.DOCKER_HOST = dockerd.host;
  process.env.DOCKER_CONFIG = dockerd.env.DOCKER_CONFIG;
  env = { ...process.env, REGISTRY_HOST: registry.host };
  t = testProject();
  scratchImage(t, '100-base');
  dependentImage(t, '200-app', 'base');
});

afterAll(async () => {
  t?.remove();
  await Promise.all([dockerd?.stop(), registry?.stop()]);
});

function docker(...args: string[]): string {
  return execFileSync('docker', args, { env: dockerd.env, encoding: 'utf8' }).trim();
}

function pcc(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, ...args], { env: withPccOnPath({ ...env, ...extraEnv }), encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

async function expectInRegistry(report: Awaited<ReturnType<typeof build>>, images: string[]): Promise<void> {
  for (const name of images) {
    const r = report.images.find((i) => i.image === name)!;
    expect(r.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const hashTag = r.hash!.slice(0, 12);
    expect(await registry.tags(name)).toContain(hashTag);
    expect(await registry.digest(name, 'latest')).toBe(r.digest);
    expect(await registry.digest(name, hashTag)).toBe(r.digest);
  }
}

describe('pcc build with docker', () => {
  it('builds 100-base and 200-app (FROM ${REGISTRY_HOST}/base) in order and pushes them with real digests', async () => {
    const report = await build(t, env);
    expect(outcomes(report)).toEqual({ base: 'built', app: 'built' });
    expect(report.images.map((r) => r.reason)).toEqual(['new', 'new']);
    expect(report.ok).toBe(true);
    expect(await registry.catalog()).toEqual(['app', 'base']);
    await expectInRegistry(report, ['base', 'app']);
    // app's RUN ran busybox from base: the FROM really got the image built just before.
    expect(docker('image', 'inspect', '--format', '{{index .Config.Labels "pcc.content-hash"}}', `${registry.host}/app:latest`)).toBe(
      report.images[1]!.hash,
    );
    const state = await new StateStore(t.project).read();
    expect(state.images.base).toMatchObject({ hash: report.images[0]!.hash, digest: report.images[0]!.digest });
    expect(state.images.app).toMatchObject({ hash: report.images[1]!.hash, digest: report.images[1]!.digest });
  });

  it('skips both on a second run, through the CLI, in under a second', () => {
    const before = readFileSync(path.join(t.root, '.pcc/state.json'), 'utf8');
    const run = pcc(['build', '--project', t.root, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { images: { image: string; result: string; digest: string }[] };
    expect(report.images.map((r) => [r.image, r.result])).toEqual([
      ['base', 'skipped'],
      ['app', 'skipped'],
    ]);
    expect(report.images.every((r) => r.digest.startsWith('sha256:'))).toBe(true);
    expect(run.ms).toBeLessThan(1000);
    // A no-op writes nothing.
    expect(readFileSync(path.join(t.root, '.pcc/state.json'), 'utf8')).toBe(before);
  });

  it('rebuilds both when 100-base changes, and moves latest to the new digests', async () => {
    const old = await build(t, env);
    writeFileSync(path.join(t.root, 'docker/100-base/marker'), 'base v2\n');
    const report = await build(t, env);
    expect(outcomes(report)).toEqual({ base: 'built', app: 'built' });
    expect(report.images.map((r) => r.reason)).toEqual(['changed', 'base changed']);
    for (const i of [0, 1]) expect(report.images[i]!.digest).not.toBe(old.images[i]!.digest);
    await expectInRegistry(report, ['base', 'app']);
    // The previous content tags stay, so hosts pinned to them keep working.
    expect(await registry.digest('base', old.images[0]!.hash!.slice(0, 12))).toBe(old.images[0]!.digest);
  });

  it('fetches an unchanged base by its content tag when only the dependent changed', async () => {
    const before = await build(t, env);
    const baseRef = `${registry.host}/base`;
    const baseTag = before.images[0]!.hash!.slice(0, 12);
    // Leave the daemon with a wrong base:latest and without the base's content tag.
    docker('rmi', `${baseRef}:${baseTag}`);
    docker('tag', `${registry.host}/app:latest`, `${baseRef}:latest`);
    writeFileSync(path.join(t.root, 'docker/200-app/marker'), 'app v2\n');

    const report = await build(t, env);
    expect(outcomes(report)).toEqual({ base: 'skipped', app: 'built' });
    const layers = (ref: string) => JSON.parse(docker('image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref)) as string[];
    const baseLayers = layers(`${baseRef}:${baseTag}`);
    const appLayers = layers(`${registry.host}/app:latest`);
    expect(appLayers.slice(0, baseLayers.length)).toEqual(baseLayers);
    expect(appLayers).toHaveLength(baseLayers.length + 2);
    await expectInRegistry(report, ['app']);
  });

  it('pushes again what the registry lost, although nothing changed', async () => {
    await registry.wipe();
    const report = await build(t, env);
    expect(report.images.map((r) => [r.image, r.result, r.reason])).toEqual([
      ['base', 'built', 'not in the registry'],
      ['app', 'built', 'not in the registry'],
    ]);
    await expectInRegistry(report, ['base', 'app']);
  });

  it('a broken folder fails and blocks only what builds FROM it', async () => {
    t.image('300-broken', 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "false"]\n', {
      busybox: { copyFrom: '/bin/busybox' },
    });
    dependentImage(t, '400-on-broken', 'broken');
    dependentImage(t, '450-on-on-broken', 'on-broken');
    scratchImage(t, '500-solo');
    const run = pcc(['build', '--project', t.root]);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^image\s+result\s+time\s+digest$/);
    expect(lines.slice(1, 7).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'base skipped',
      'app skipped',
      'broken failed',
      'on-broken blocked',
      'on-on-broken blocked',
      'solo built',
    ]);
    expect(run.stdout).toMatch(/broken \(docker\/300-broken\): build failed: .*returned a non-zero code: 1/);
    expect(run.stdout).toContain('on-broken: blocked by broken');
    expect(run.stdout).toContain('on-on-broken: blocked by on-broken');
    expect(run.stdout).toContain(`${registry.host} via docker: 1 built, 2 skipped, 1 failed, 2 blocked`);
    // Live progress per image went to stderr.
    expect(run.stderr).toMatch(/^solo \| building \(new\)$/m);
    expect(run.stderr).toMatch(/^solo \| pushed sha256:/m);
    expect(await registry.catalog()).toEqual(['app', 'base', 'solo']);
    rmSync(path.join(t.root, 'docker/300-broken'), { recursive: true });
    rmSync(path.join(t.root, 'docker/400-on-broken'), { recursive: true });
    rmSync(path.join(t.root, 'docker/450-on-on-broken'), { recursive: true });
  });

  it('layout mistakes are one-line errors that name the folders', () => {
    const bad = testProject();
    try {
      scratchImage(bad, '100-base');
      scratchImage(bad, '300-base');
      let run = pcc(['build', '--project', bad.root]);
      expect([run.code, run.stderr]).toEqual([1, 'pcc: docker/100-base and docker/300-base both build the image "base"; rename one of the folders\n']);
      rmSync(path.join(bad.root, 'docker/300-base'), { recursive: true });
      scratchImage(bad, '200-Web App');
      run = pcc(['build', '--project', bad.root]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        'pcc: docker/200-Web App: "Web App" is not a valid image name; rename the folder to 200-web-app (lowercase letters and digits, joined by - . or _)\n',
      );
    } finally {
      bad.remove();
    }
  });

  it('says which builder is missing or cannot build, and how to fix it', () => {
    const emptyPath = mkdtempSync(path.join(tmpdir(), 'pcc-nopath-'));
    try {
      let run = pcc(['build', '--project', t.root, '--force', '--builder', 'buildah'], { PATH: emptyPath });
      expect([run.code, run.stderr]).toEqual([1, 'pcc: buildah is not installed on this machine; install it (apt-get install buildah) or choose --builder docker\n']);
      run = pcc(['build', '--project', t.root, '--force', '--json'], { DOCKER_HOST: `unix://${emptyPath}/docker.sock` });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^pcc: docker cannot build on this machine: .*Cannot connect to the Docker daemon.*; start dockerd or point DOCKER_HOST at one, or use --builder buildah\n$/);
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });

  it('--on refuses a host the state does not know', () => {
    const run = pcc(['build', '--project', t.root, '--on', 'nope']);
    expect([run.code, run.stderr]).toEqual([1, 'pcc: --on nope: no such host in the state (hosts: none); see pcc hosts\n']);
  });

  it('builds the shipped docker/999-mybusybox example, which runs', async () => {
    const example = testProject();
    try {
      cpSync(path.join(repoRoot, 'docker/999-mybusybox'), path.join(example.root, 'docker/999-mybusybox'), { recursive: true });
      rmSync(path.join(example.root, 'docker/999-mybusybox/busybox'), { force: true });
      const report = await build(example, env);
      expect([report.images[0]!.result, report.images[0]!.reason, report.images[0]!.output]).toEqual(['built', 'new', undefined]);
      await expectInRegistry(report, ['mybusybox']);
      expect(existsSync(path.join(example.root, 'docker/999-mybusybox/busybox'))).toBe(true);
      const ref = `${registry.host}/mybusybox:latest`;
      expect(docker('run', '--rm', '--network', 'none', ref, 'sh', '-c', 'echo hello from $(uname -s)')).toBe('hello from Linux');
      // prepare runs on every build but leaves the file alone, so the image is not rebuilt.
      expect(outcomes(await build(example, env))).toEqual({ mybusybox: 'skipped' });
    } finally {
      example.remove();
    }
  });
});
