import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc, repoRoot } from '../fixtures/cli.js';
import { claimTestSubnet, TEST_BASE_CACHE } from '../fixtures/local-hosts.js';

/**
 * The whole product on local (systemd-nspawn) hosts: `pcc up --provider local`
 * gives a controller with the registry, the NFS export and the WireGuard hub,
 * and a compute host set up against it. Everything here is real: dockerd,
 * docker-registry, nfs-ganesha and wireguard-go run inside the hosts.
 */
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;
let claim: { subnet: string; release(): void };

const p = (...args: string[]) => pcc(['--project', project, ...args], env);
const json = (...args: string[]) => {
  const r = pcc(['--project', project, '--json', ...args], env);
  if (r.code !== 0) throw new Error(`pcc ${args.join(' ')} failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout);
};
const onHost = (host: string, command: string) => p('exec', host, '--', command);

beforeAll(async () => {
  claim = await claimTestSubnet();
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-cluster-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  cpSync(path.join(repoRoot, 'docker/999-mybusybox'), path.join(project, 'docker/999-mybusybox'), { recursive: true });
  writeFileSync(path.join(project, 'README.txt'), 'shared with every host\n');
  writeFileSync(path.join(project, 'config/local.env'), `LOCAL_SUBNET=${claim.subnet}\nLOCAL_BASE_CACHE=${TEST_BASE_CACHE}\n`);
  env = { HOME: path.join(dir, 'home') };
  mkdirSync(env.HOME!, { recursive: true });
});

afterAll(() => {
  if (existsSync(project)) p('destroy', 'local', '--yes');
  rmSync(dir, { recursive: true, force: true });
  claim.release();
});

describe('pcc up --provider local: registry, /project and overlay on real nspawn hosts', () => {
  it('brings up the controller, a compute host, setup and the images', () => {
    const up = p('up', '--provider', 'local');
    expect(up.code, `${up.stderr}\n${up.stdout}`).toBe(0);
    expect(up.stdout).toContain('ready: ssh init');
  });

  it('the compute host has $REGISTRY_HOST and pulls the image over the overlay', () => {
    const reg = onHost('local1', 'echo "$REGISTRY_HOST"');
    expect(reg.stdout.trim()).toBe('local1 | 10.214.0.1:5000');
    const pull = onHost('local1', 'docker pull "$REGISTRY_HOST/mybusybox" && docker run --rm "$REGISTRY_HOST/mybusybox" echo pulled-and-ran');
    expect(pull.code, pull.stderr + pull.stdout).toBe(0);
    expect(pull.stdout).toContain('local1 | pulled-and-ran');
  });

  it('/project is exported by the controller and readable from the host', () => {
    const unit = onHost('local1', 'cat /etc/systemd/system/project.mount');
    expect(unit.stdout).toContain('local1 | What=10.214.0.1:/project-export');
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
