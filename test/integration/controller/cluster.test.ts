import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCliProject, type LocalCliProject } from '../../fixtures/cli-project.js';

/**
 * The whole product on local (systemd-nspawn) hosts: `pcc up --provider local`
 * gives a controller with the registry, the NFS export and the WireGuard hub,
 * and a compute host set up against it. Everything here is real: dockerd,
 * docker-registry, nfs-ganesha and wireguard-go run inside the hosts.
 */
let t: LocalCliProject;
let project: string;
let env: NodeJS.ProcessEnv;
const p = (...args: string[]) => t.p(...args);
const json = (...args: string[]) => t.json(...args);
const onHost = (host: string, command: string) => p('exec', host, '--', command);
const must = (r: { code: number; stdout: string; stderr: string }) => {
  expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
};

beforeAll(async () => {
  t = await localCliProject('cluster', { images: true });
  ({ project, env } = t);
  writeFileSync(path.join(project, 'README.txt'), 'shared with every host\n');
});

afterAll(() => t?.stop());

describe('pcc up --provider local: registry, /project and overlay on real nspawn hosts', () => {
  it('brings up the controller, a compute host, setup and the images', () => {
    const up = p('up', '--provider', 'local');
    expect(up.code, `${up.stderr}\n${up.stdout}`).toBe(0);
    // HOME here is not the passwd home, whose ~/.ssh/config OpenSSH reads: the hint names pcc's config (issue 30, item 12).
    expect(up.stdout).toContain(`ready: ssh -F ${path.join(env.HOME!, '.ssh/config')} init`);
    // A local host shares this machine's disk: /project is the project folder, nothing to warn about.
    expect(up.stderr + up.stdout).not.toContain('/project is not');
  });

  it('/project on a local host is the project folder, without config/ and .pcc/, and what a host writes there is here', () => {
    const read = onHost('local1', 'cat /project/README.txt; ls -A /project/config /project/.pcc | wc -l; touch /project/config/x 2>&1 || echo refused');
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('local1 | shared with every host');
    // The covers are empty (only the two `ls` headers and a blank line count) and read-only.
    expect(read.stdout).toMatch(/local1 \| 3\n/);
    expect(read.stdout).toContain('local1 | refused');
    must(onHost('local1', 'mkdir -p /project/results && echo from-local1 > /project/results/local1.txt'));
    expect(readFileSync(path.join(project, 'results/local1.txt'), 'utf8')).toBe('from-local1\n');
    // No NFS unit on a bound host: setup leaves its mount alone.
    expect(onHost('local1', 'test -e /etc/systemd/system/project.mount && echo unit || echo none').stdout).toContain('local1 | none');
  });

  it('the compute host has $REGISTRY_HOST and pulls the image over the overlay', () => {
    const reg = onHost('local1', 'echo "$REGISTRY_HOST"');
    expect(reg.stdout.trim()).toBe('local1 | 10.214.0.1:5000');
    const pull = onHost('local1', 'docker pull "$REGISTRY_HOST/mybusybox" && docker run --rm "$REGISTRY_HOST/mybusybox" echo pulled-and-ran');
    expect(pull.code, pull.stderr + pull.stdout).toBe(0);
    expect(pull.stdout).toContain('local1 | pulled-and-ran');
  });

  it('/project is exported by the controller and readable from the host', () => {
    const ls = onHost('local1', "nfs-cat 'nfs://10.214.0.1/project-export/README.txt?version=4'");
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('local1 | shared with every host');
  });

  it('the overlay carries traffic between two compute hosts', () => {
    const more = json('acquire', 'local', '--count', '2');
    expect(more.hosts.map((h: { name: string }) => h.name)).toEqual(expect.arrayContaining(['local1', 'local2']));
    const setup = json('setup', 'local2');
    expect(setup.hosts.find((h: { host: string }) => h.host === 'local2').status).toBe('changed');
    const hosts = json('hosts');
    const local1 = hosts.find((h: { name: string }) => h.name === 'local1');
    const ping = onHost('local2', `ping -c 2 -W 3 ${local1.overlayAddress}`);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const http = onHost('local2', 'curl -sf "http://$REGISTRY_HOST/v2/_catalog"');
    expect(http.stdout).toContain('mybusybox');
  });

  it('a second setup changes nothing', () => {
    const again = json('setup', 'all');
    // Every host, counted first: a loop over no hosts would pass without checking anything.
    expect(again.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['init', 'local1', 'local2']);
    for (const h of again.hosts) expect(h.changed, `${h.host}: ${JSON.stringify(h.ops.filter((o: { status: string }) => o.status !== 'ok'))}`).toBe(0);
  });

  it('ssh reaches the hosts by alias, with the real OpenSSH client', () => {
    const r = spawnSync('ssh', ['-F', path.join(env.HOME!, '.ssh/config'), '-o', 'BatchMode=yes', 'cpu-local1', 'hostname'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('local1');
    const init = spawnSync('ssh', ['-F', path.join(env.HOME!, '.ssh/config'), '-o', 'BatchMode=yes', 'init', 'systemctl is-active docker-registry nfs-ganesha wg-quick@pcc0'], { encoding: 'utf8' });
    expect(init.stdout.trim().split('\n')).toEqual(['active', 'active', 'active']);
  });

  it('destroy removes the hosts and aliases, and the images stay on the user\'s machine', () => {
    const gone = p('destroy', 'local', '--yes');
    expect(gone.code, gone.stderr).toBe(0);
    expect(json('hosts')).toEqual([]);
    expect(existsSync(path.join(env.HOME!, '.ssh/config.d/pcc'))).toBe(false);
    // pcc made ~/.ssh/config for its Include line alone, so it goes too.
    expect(existsSync(path.join(env.HOME!, '.ssh/config'))).toBe(false);
    const storage = path.join(project, '.pcc/registry');
    expect(execFileSync('find', [storage, '-name', 'mybusybox'], { encoding: 'utf8' })).toContain('mybusybox');
  });
});
