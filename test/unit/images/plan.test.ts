import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildahBuilder, dockerBuilder, pushedDigest } from '../../../src/images/builders.js';
import { contentHash, listContext } from '../../../src/images/context.js';
import { discoverImages } from '../../../src/images/discover.js';
import { parseDockerfile } from '../../../src/images/dockerfile.js';
import { planImages } from '../../../src/images/plan.js';
import { isPlainHttpHost, resolveRegistry, type RegistryTarget } from '../../../src/images/registry.js';
import { emptyState } from '../../../src/state/schema.js';
import { testProject, type TestProject } from '../../fixtures/images.js';

let t: TestProject;
beforeEach(() => {
  t = testProject();
});
afterEach(() => t.remove());

const registry: RegistryTarget = { host: '127.0.0.1:5000', source: 'test', plainHttp: true };
const noSettings = { vars: {}, origin: {} };
const plan = () => planImages({ dockerDir: t.project.dockerDir, projectRoot: t.root, registry, settings: noSettings });
const discover = () => discoverImages(t.project.dockerDir, t.root);

describe('discovery', () => {
  it('orders folders by number, not by name, and notes what it skips', () => {
    t.image('10-b', 'FROM scratch\n');
    t.image('9-a', 'FROM scratch\n');
    t.image('0100-c', 'FROM scratch\n');
    t.image('scratchpad', 'FROM scratch\n');
    t.image('.hidden', 'FROM scratch\n');
    writeFileSync(path.join(t.project.dockerDir, 'README.md'), 'notes\n');
    const found = discover();
    expect(found.folders.map((f) => [f.folder, f.image, f.order])).toEqual([
      ['9-a', 'a', 9],
      ['10-b', 'b', 10],
      ['0100-c', 'c', 100],
    ]);
    expect(found.notes).toEqual(['docker/scratchpad: skipped, not named NNN-name (e.g. 100-scratchpad)']);
  });

  it('says so when there is nothing to build', () => {
    expect(discover()).toEqual({ folders: [], notes: ['docker/ has no NNN-name folders: nothing to build'] });
    t.remove();
    expect(discover().notes).toEqual(['docker/ does not exist: nothing to build']);
  });

  it('refuses an image name a registry would refuse, naming the folder and a fix', () => {
    t.image('100-My_App!', 'FROM scratch\n');
    expect(discover).toThrow(
      'docker/100-My_App!: "My_App!" is not a valid image name; rename the folder to 100-my_app (lowercase letters and digits, joined by - . or _)',
    );
  });

  it('refuses a numbered folder with nothing after the dash', () => {
    t.image('100-', 'FROM scratch\n');
    expect(discover).toThrow('docker/100-: "" is not a valid image name');
  });

  it('refuses two folders that build the same image, naming both', () => {
    t.image('100-base', 'FROM scratch\n');
    t.image('200-base', 'FROM scratch\n');
    expect(discover).toThrow('docker/100-base and docker/200-base both build the image "base"; rename one of the folders');
  });

  it('refuses a numbered folder without a Dockerfile', () => {
    mkdirSync(path.join(t.project.dockerDir, '300-tools'));
    expect(discover).toThrow('docker/300-tools has no Dockerfile; add one, or drop the number prefix from the folder\'s name to skip it');
  });
});

describe('Dockerfile dependencies', () => {
  it('finds FROM ${REGISTRY_HOST}/name in any spelling, across continuations and comments', () => {
    const text = [
      '# syntax and comments first',
      'ARG REGISTRY_HOST',
      'ARG VERSION=1 OTHER',
      'FROM ${REGISTRY_HOST}/base:latest AS build',
      'RUN echo \\',
      '  # a comment inside a continuation',
      '  FROM ${REGISTRY_HOST}/not-a-from',
      'from --platform=linux/amd64 $REGISTRY_HOST/tools@sha256:abc',
      'FROM build',
      'FROM debian:12',
      'FROM \\',
      '  ${REGISTRY_HOST}/last',
    ].join('\n');
    const info = parseDockerfile(text, 'docker/200-app/Dockerfile');
    expect(info.registryFroms).toEqual([
      { image: 'base', line: 4 },
      { image: 'tools', line: 8 },
      { image: 'last', line: 11 },
    ]);
    expect([...info.args]).toEqual(['REGISTRY_HOST', 'VERSION', 'OTHER']);
  });

  it('needs ARG REGISTRY_HOST before the first FROM', () => {
    expect(() => parseDockerfile('FROM scratch\nARG REGISTRY_HOST\nFROM ${REGISTRY_HOST}/base\n', 'docker/2-a/Dockerfile')).toThrow(
      'docker/2-a/Dockerfile:3: FROM uses ${REGISTRY_HOST} but no "ARG REGISTRY_HOST" comes before the first FROM; add that line at the top',
    );
  });

  it('makes a pcc image depend on the earlier image it builds FROM', async () => {
    t.image('100-base', 'FROM scratch\n');
    t.image('200-app', 'ARG REGISTRY_HOST\nFROM ${REGISTRY_HOST}/base\n');
    t.image('300-other', 'FROM scratch\n');
    const { specs } = await plan();
    expect(specs.map((s) => [s.image, s.dependencies])).toEqual([
      ['base', []],
      ['app', ['base']],
      ['other', []],
    ]);
    expect(specs[1]!.buildArgs).toEqual({ REGISTRY_HOST: '127.0.0.1:5000' });
  });

  it('refuses a FROM on an image that builds later, with file and line', async () => {
    t.image('100-app', 'ARG REGISTRY_HOST\n\nFROM ${REGISTRY_HOST}/base\n');
    t.image('200-base', 'FROM scratch\n');
    await expect(plan()).rejects.toThrow(
      'docker/100-app/Dockerfile:3: FROM ${REGISTRY_HOST}/base refers to docker/200-base, which builds later; give it a lower number than 100-app',
    );
  });

  it('refuses a FROM on a pcc image no folder builds', async () => {
    t.image('100-app', 'ARG REGISTRY_HOST\nFROM ${REGISTRY_HOST}/nope\n');
    await expect(plan()).rejects.toThrow(
      'docker/100-app/Dockerfile:2: FROM ${REGISTRY_HOST}/nope: no docker/NNN-nope folder builds that image (pcc images: app)',
    );
  });

  it('passes config/ variables that the Dockerfile declares as ARGs, but never ones from config/.private', async () => {
    t.image('100-app', 'ARG GREETING\nARG TOKEN\nFROM scratch\n');
    const { specs } = await planImages({
      dockerDir: t.project.dockerDir,
      projectRoot: t.root,
      registry,
      settings: {
        vars: { GREETING: 'hi', TOKEN: 'secret', UNUSED: 'x' },
        origin: { GREETING: 'config/app.env', TOKEN: 'config/.private', UNUSED: 'config/app.env' },
      },
    });
    expect(specs[0]!.buildArgs).toEqual({ REGISTRY_HOST: '127.0.0.1:5000', GREETING: 'hi' });
  });

  it('finds an executable prepare script', async () => {
    const dir = t.image('100-a', 'FROM scratch\n', { prepare: '#!/bin/sh\n' });
    t.image('200-b', 'FROM scratch\n', { prepare: 'not executable\n' });
    chmodSync(path.join(dir, 'prepare'), 0o755);
    const { specs } = await plan();
    expect(specs.map((s) => s.prepare && path.relative(t.root, s.prepare))).toEqual(['docker/100-a/prepare', undefined]);
  });
});

describe('content hash', () => {
  const hashOf = (dir: string, deps: Record<string, string> = {}, args: Record<string, string> = {}) =>
    contentHash({ dir, dockerfile: path.join(dir, 'Dockerfile'), buildArgs: args, dependencies: deps });

  it('follows .dockerignore like Docker: last match wins, ! re-includes, directories cover their contents', async () => {
    const dir = t.image('100-a', 'FROM scratch\n', {
      '.dockerignore': '# comment\n/build\n*.log\n!keep.log\nnode_modules/\ndocs/**/*.md\n',
      'app.js': '',
      'debug.log': '',
      'keep.log': '',
      'build/out.bin': '',
      'node_modules/x/index.js': '',
      'docs/a/b/readme.md': '',
      'docs/a/b/image.png': '',
      'src/.env': '',
    });
    const files = (await listContext(dir)).filter((e) => e.kind !== 'dir').map((e) => e.rel);
    expect(files).toEqual(['.dockerignore', 'Dockerfile', 'app.js', 'docs/a/b/image.png', 'keep.log', 'src/.env']);
  });

  it('changes with included files, their modes, the build args and the bases, and not with ignored files', async () => {
    const dir = t.image('100-a', 'FROM scratch\n', { '.dockerignore': '*.tmp\n', 'run.sh': 'echo\n' });
    const first = await hashOf(dir);
    expect(await hashOf(dir)).toBe(first);
    writeFileSync(path.join(dir, 'scratch.tmp'), 'ignored');
    expect(await hashOf(dir)).toBe(first);
    expect(await hashOf(dir, {}, { REGISTRY_HOST: 'other:5000' })).not.toBe(first);
    expect(await hashOf(dir, { base: 'a'.repeat(64) })).not.toBe(first);
    chmodSync(path.join(dir, 'run.sh'), 0o755);
    const executable = await hashOf(dir);
    expect(executable).not.toBe(first);
    writeFileSync(path.join(dir, 'run.sh'), 'echo hi\n');
    expect(await hashOf(dir)).not.toBe(executable);
  });
});

describe('builders', () => {
  const spec = {
    context: '/p/docker/200-app',
    tags: ['127.0.0.1:5000/app:latest', '127.0.0.1:5000/app:0123456789ab'],
    buildArgs: { REGISTRY_HOST: '127.0.0.1:5000', A: 'b c' },
    labels: { 'pcc.content-hash': 'f'.repeat(64) },
  };

  it('docker: exact commands', () => {
    const b = dockerBuilder();
    expect(b.probe().argv).toEqual(['docker', 'version', '--format', '{{.Server.Version}}']);
    expect(b.build(spec).argv).toEqual([
      'docker', 'build',
      '--tag', '127.0.0.1:5000/app:latest', '--tag', '127.0.0.1:5000/app:0123456789ab',
      '--build-arg', 'A=b c', '--build-arg', 'REGISTRY_HOST=127.0.0.1:5000',
      '--label', `pcc.content-hash=${'f'.repeat(64)}`,
      '/p/docker/200-app',
    ]);
    expect(b.pull('r:5000/base:abc').argv).toEqual(['docker', 'pull', 'r:5000/base:abc']);
    expect(b.tag('r:5000/base:abc', 'r:5000/base:latest').argv).toEqual(['docker', 'tag', 'r:5000/base:abc', 'r:5000/base:latest']);
    expect(b.push('r:5000/app:latest', '/tmp/d').argv).toEqual(['docker', 'push', 'r:5000/app:latest']);
  });

  it('buildah: vfs, chroot, docker format, and --tls-verify=false only for a plain-HTTP registry', () => {
    const b = buildahBuilder({ plainHttp: true });
    expect(b.probe().argv).toEqual(['buildah', '--storage-driver', 'vfs', 'version']);
    expect(b.build(spec).argv).toEqual([
      'buildah', '--storage-driver', 'vfs', 'build',
      '--isolation', 'chroot', '--format', 'docker', '--layers',
      '--tag', '127.0.0.1:5000/app:latest', '--tag', '127.0.0.1:5000/app:0123456789ab',
      '--build-arg', 'A=b c', '--build-arg', 'REGISTRY_HOST=127.0.0.1:5000',
      '--label', `pcc.content-hash=${'f'.repeat(64)}`,
      '/p/docker/200-app',
    ]);
    expect(b.pull('r:5000/base:abc').argv).toEqual(['buildah', '--storage-driver', 'vfs', 'pull', '--policy', 'missing', '--tls-verify=false', 'r:5000/base:abc']);
    expect(b.tag('r:5000/base:abc', 'r:5000/base:latest').argv).toEqual(['buildah', '--storage-driver', 'vfs', 'tag', 'r:5000/base:abc', 'r:5000/base:latest']);
    expect(b.push('r:5000/app:latest', '/tmp/d').argv).toEqual([
      'buildah', '--storage-driver', 'vfs', 'push', '--tls-verify=false', '--digestfile', '/tmp/d', 'r:5000/app:latest', 'docker://r:5000/app:latest',
    ]);
    expect(b.push('r:5000/app:latest').argv).toEqual([
      'buildah', '--storage-driver', 'vfs', 'push', '--tls-verify=false', 'r:5000/app:latest', 'docker://r:5000/app:latest',
    ]);
    const tls = buildahBuilder({ plainHttp: false });
    expect(tls.push('reg.example.com/app:latest', '/tmp/d').argv).toEqual([
      'buildah', '--storage-driver', 'vfs', 'push', '--digestfile', '/tmp/d', 'reg.example.com/app:latest', 'docker://reg.example.com/app:latest',
    ]);
  });

  it('reads the pushed digest from the digest file, or from docker push output', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(pushedDigest('whatever', `${d}\n`)).toBe(d);
    expect(pushedDigest(`abc: Pushed\nlatest: digest: ${d} size: 736\n`, undefined)).toBe(d);
    expect(pushedDigest('nothing', undefined)).toBeUndefined();
  });
});

describe('registry', () => {
  const values = { REGISTRY_HOST: undefined, REGISTRY_PORT: 5000 };

  it('takes REGISTRY_HOST from config first, then the controller in the state', () => {
    expect(resolveRegistry({ ...values, REGISTRY_HOST: 'reg.example.com:443' }, { REGISTRY_HOST: 'config/registry.env' }, emptyState())).toEqual({
      host: 'reg.example.com:443',
      source: 'config/registry.env',
      plainHttp: false,
    });
    const state = emptyState();
    state.hosts.init = {
      name: 'init', address: '10.213.0.1', overlayAddress: '10.214.0.1', port: 22, user: 'root', provider: 'local', groups: [], createdAt: 'now', meta: {},
    };
    // The overlay address, where the controller's registry listens (reached from here through an SSH tunnel).
    expect(resolveRegistry(values, {}, state)).toEqual({ host: '10.214.0.1:5000', source: 'the controller (init)', plainHttp: true, controller: 'init' });
  });

  it('tells the user to run pcc init or set REGISTRY_HOST when there is no registry', () => {
    expect(() => resolveRegistry(values, {}, emptyState())).toThrow(
      'no registry: run pcc init to bring up the controller, or set REGISTRY_HOST=host:port in config/',
    );
    expect(() => resolveRegistry({ ...values, REGISTRY_HOST: 'http://x:5000' }, { REGISTRY_HOST: 'config/a.env' }, emptyState())).toThrow(
      'config/a.env: REGISTRY_HOST=http://x:5000 must be host:port only',
    );
  });

  it('treats loopback and private addresses as pcc\'s plain-HTTP registry', () => {
    expect(['127.0.0.1:5000', 'localhost:5000', '10.214.0.1:5000', '192.168.56.10:5000', '172.20.0.1', '100.64.1.1:5000'].map(isPlainHttpHost)).toEqual([
      true, true, true, true, true, true,
    ]);
    expect(['registry.example.com:5000', '8.8.8.8:5000', '172.32.0.1:5000'].map(isPlainHttpHost)).toEqual([false, false, false]);
  });
});
