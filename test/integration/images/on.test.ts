import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildReport } from '../../../src/images/build.js';
import { remoteWorkDir, sshRunner } from '../../../src/images/remote.js';
import { Connection } from '../../../src/remote/connection.js';
import { StateStore } from '../../../src/state/store.js';
import { startDockerd, type TestDockerd } from '../../fixtures/dockerd.js';
import { startRegistry, type TestRegistry } from '../../fixtures/registry.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';
import { build, dependentImage, outcomes, scratchImage, testProject, type TestProject } from '../../fixtures/images.js';

/**
 * `pcc build --on init`: the builder runs on a real sshd host (a loopback
 * sshd on this machine). The host's docker is this file's dockerd: a forced
 * command in authorized_keys sets DOCKER_HOST for every session, standing in
 * for a controller whose docker listens on the default socket.
 */
let registry: TestRegistry;
let dockerd: TestDockerd;
let fleet: SshdFleet;
let t: TestProject;
let conn: Connection;
const cli = path.resolve(import.meta.dirname, '../../../bin/pcc.js');

beforeAll(async () => {
  [registry, dockerd, fleet] = await Promise.all([startRegistry(), startDockerd(), startSshdHosts(1, { prefix: 'init' })]);
  const keys = path.join(fleet.dir, 'authorized_keys');
  const forced = `command="DOCKER_HOST=${dockerd.host}; export DOCKER_HOST; exec /bin/sh -c \\"$SSH_ORIGINAL_COMMAND\\""`;
  writeFileSync(keys, `${forced} ${readFileSync(keys, 'utf8')}`);
  const host = fleet.hosts[0]!;
  conn = await Connection.open(
    { name: 'init', address: host.address, port: host.port, user: 'root', key: fleet.key },
    { home: fleet.dir, timeoutMs: 5_000, retries: 1 },
  );
  t = testProject();
  scratchImage(t, '100-base');
  dependentImage(t, '200-app', 'base');
  t.image('300-ignored', 'FROM scratch\nCOPY . /ctx/\n', { '.dockerignore': 'secret.txt\nDockerfile\n', 'secret.txt': 'no', 'kept.txt': 'yes' });
});

afterAll(async () => {
  conn?.close();
  t?.remove();
  await Promise.all([dockerd?.stop(), registry?.stop(), fleet?.stop()]);
});

describe('pcc build --on', () => {
  it('uploads each context and builds and pushes on the host, with the same plan and state', async () => {
    const workDir = remoteWorkDir(`${t.project.name}-${process.pid}`);
    const env = { ...process.env, REGISTRY_HOST: registry.host };
    const report = await build(t, env, { runner: sshRunner(conn, workDir), on: 'init' });
    expect(report.on).toBe('init');
    expect(outcomes(report)).toEqual({ base: 'built', app: 'built', ignored: 'built' });
    for (const r of report.images) expect(await registry.digest(r.image, 'latest')).toBe(r.digest);
    // Exactly what .dockerignore lets through went over, and the Dockerfile, which Docker always sends.
    const listing = await conn.exec(`cd ${workDir}/ignored && find . -type f | sort`);
    expect(listing.stdout.trim().split('\n')).toEqual(['./.dockerignore', './Dockerfile', './kept.txt']);

    const again = await build(t, env, { runner: sshRunner(conn, workDir), on: 'init' });
    expect(outcomes(again)).toEqual({ base: 'skipped', app: 'skipped', ignored: 'skipped' });
    await conn.exec(`rm -rf ${workDir}`);
  });

  it('pcc build --on init finds the host in the state and connects through pcc\'s known_hosts', async () => {
    const host = fleet.hosts[0]!;
    await new StateStore(t.project).update((state) => {
      state.hosts.init = {
        name: 'init', address: host.address, port: host.port, user: 'root', key: fleet.key,
        provider: 'static', groups: ['static'], createdAt: new Date().toISOString(), meta: {},
      };
    });
    writeFileSync(path.join(t.root, 'docker/100-base/marker'), 'base v2\n');
    const run = spawnSync(process.execPath, [cli, 'build', '--project', t.root, '--on', 'init', '--json'], {
      env: { ...process.env, HOME: t.root, REGISTRY_HOST: registry.host },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as BuildReport;
    expect(report.on).toBe('init');
    expect(report.images.map((r) => [r.image, r.result])).toEqual([
      ['base', 'built'],
      ['app', 'built'],
      ['ignored', 'skipped'],
    ]);
    for (const r of report.images) expect(await registry.digest(r.image, 'latest')).toBe(r.digest);
    await conn.exec(`rm -rf ${remoteWorkDir(t.project.name)}`);
  });
});
