import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc, repoRoot } from '../../fixtures/cli.js';
import { claimTestSubnet, TEST_BASE_CACHE } from '../../fixtures/local-hosts.js';

/**
 * The world's shape on one machine: the controller and a home host behind a
 * real NAT (a router namespace that masquerades and lets only replies back),
 * and two hosts on a "cloud" segment with public addresses. Everything is
 * real: nspawn hosts, dockerd with Docker Swarm, docker-registry,
 * nfs-ganesha, wireguard-go, iptables in the router's namespace.
 */
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;
let claims: { subnet: string; release(): void }[] = [];
let hostsByName: Record<string, { address: string; overlayAddress: string; overlayPublicKey: string }> = {};

const p = (...args: string[]) => pcc(['--project', project, ...args], env);
const json = (...args: string[]) => {
  const r = pcc(['--project', project, '--json', ...args], env);
  if (r.code !== 0) throw new Error(`pcc ${args.join(' ')} failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout);
};
/** One host's output, without pcc exec's `host | ` prefix. */
const on = (host: string, command: string) => {
  const r = p('exec', host, '--', command);
  const prefix = `${host} | `;
  const lines = r.stdout.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  return { code: r.code, out: lines.join('\n').trim(), raw: r.stdout + r.stderr };
};
const IMAGE = '"$REGISTRY_HOST/mybusybox"';
const inContainer = (host: string, script: string) =>
  on(host, `docker pull -q ${IMAGE} >/dev/null && docker run --rm --network pcc ${IMAGE} sh -c '${script}'`);
/**
 * A download through the `pcc` network, tried a few times: a name that was
 * just registered takes swarm's gossip a moment to reach the other nodes.
 */
function fetchSum(host: string, url: string): string {
  let last = '';
  for (let i = 0; i < 10; i++) {
    last = inContainer(host, `wget -q -O - ${url} | md5sum | cut -d" " -f1`).out;
    if (/^[0-9a-f]{32}$/.test(last) && last !== EMPTY_MD5) return last;
    spawnSleep(1000);
  }
  return last;
}
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const canConnect = (host: string, address: string, port: number) =>
  on(host, `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/${port}' 2>/dev/null && echo open || echo closed`).out;

/** A busybox web server on the `pcc` network serving 10 MB of random bytes and their checksum. */
function startWeb(host: string, name: string): string {
  const start = on(
    host,
    `docker rm -f ${name} >/dev/null 2>&1; docker run -d --name ${name} --network pcc ${IMAGE} sh -c 'mkdir /w && dd if=/dev/urandom of=/w/f bs=1M count=10 2>/dev/null && md5sum /w/f | cut -d" " -f1 > /w/sum && httpd -f -p 8080 -h /w'`,
  );
  expect(start.code, start.raw).toBe(0);
  for (let i = 0; i < 30; i++) {
    const sum = on(host, `docker exec ${name} cat /w/sum 2>/dev/null`).out;
    if (/^[0-9a-f]{32}$/.test(sum)) return sum;
    spawnSleep(500);
  }
  throw new Error(`${name} on ${host} did not start`);
}

function spawnSleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Whether `from` reaches `to` over the overlay, tried for up to 20 s: a tunnel
 * after a reboot opens with the first packet that needs it, and WireGuard
 * resends a handshake that went unanswered only 5 s later, longer than one
 * ping waits. The report says what each side's WireGuard saw, for a failure.
 */
function overlayPing(from: string, to: string): { ok: boolean; report: string } {
  const tries: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = on(from, `ping -c 1 -W 2 ${hostsByName[to]!.overlayAddress} >/dev/null && echo ok`);
    if (r.out === 'ok') return { ok: true, report: '' };
    tries.push(`try ${i + 1} (exit ${r.code}): ${r.raw.trim()}`);
  }
  const wg = [from, to].map((h) => `${h}: ${on(h, 'wg show pcc0; ip route').raw.trim()}`);
  return { ok: false, report: `${from} cannot ping ${to} over the overlay\n${[...tries, ...wg].join('\n')}` };
}

/** rx+tx bytes per peer public key, from `wg show pcc0 transfer` on a host. */
function transfer(host: string): Map<string, number> {
  const out = on(host, 'wg show pcc0 transfer').out;
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [key, rx, tx] = l.split(/\s+/);
        return [key!, Number(rx) + Number(tx)];
      }),
  );
}

const key = (host: string) => hostsByName[host]!.overlayPublicKey!;

beforeAll(async () => {
  claims = [await claimTestSubnet(), await claimTestSubnet()];
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-internet-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  cpSync(path.join(repoRoot, 'docker/999-mybusybox'), path.join(project, 'docker/999-mybusybox'), { recursive: true });
  writeFileSync(path.join(project, 'README.txt'), 'shared with every host\n');
  writeFileSync(
    path.join(project, 'config/local.env'),
    `LOCAL_SUBNET=${claims[0]!.subnet}\nLOCAL_CLOUD_SUBNET=${claims[1]!.subnet}\nLOCAL_BASE_CACHE=${TEST_BASE_CACHE}\n`,
  );
  env = { HOME: path.join(dir, 'home') };
  mkdirSync(env.HOME!, { recursive: true });
});

afterAll(() => {
  if (existsSync(project)) p('destroy', 'local', '--yes');
  rmSync(dir, { recursive: true, force: true });
  for (const c of claims) c.release();
});

describe('a home behind NAT and a cloud: overlay, registry, /project and swarm across the boundary', () => {
  it('pcc up at home, two hosts in the cloud, setup all', () => {
    const up = p('up', '--provider', 'local');
    expect(up.code, `${up.stderr}\n${up.stdout}`).toBe(0);
    const cloud = json('acquire', 'local', '--site', 'cloud', '--count', '2');
    expect(cloud.hosts.map((h: { name: string }) => h.name).sort()).toEqual(['cloud1', 'cloud2']);
    const setup = json('setup', 'all');
    for (const h of setup.hosts) expect(h.status, `${h.host}: ${h.error ?? JSON.stringify(h.ops.filter((o: { status: string }) => o.status === 'failed'))}`).not.toMatch(/failed|unreachable/);
    const status = json('status');
    expect(Object.fromEntries(status.hosts.map((h: { name: string; site: string }) => [h.name, h.site]))).toEqual({
      init: 'home',
      local1: 'home',
      cloud1: 'cloud',
      cloud2: 'cloud',
    });
    hostsByName = Object.fromEntries(json('hosts').map((h: { name: string }) => [h.name, h]));
  }, 240_000);

  it('the NAT is real: a cloud host cannot open a connection to the controller\'s home address; home hosts and the controller can reach out', () => {
    const init = hostsByName.init!.address;
    expect(canConnect('cloud1', init, 22)).toBe('closed');
    expect(canConnect('cloud1', hostsByName.local1!.address, 22)).toBe('closed');
    expect(canConnect('local1', init, 22)).toBe('open');
    expect(canConnect('init', hostsByName.cloud1!.address, 22)).toBe('open');
  });

  it('over the overlay, a cloud host pulls $REGISTRY_HOST/mybusybox and reads /project through nfs-cat', () => {
    const pull = on('cloud1', `docker pull ${IMAGE} >/dev/null && docker run --rm ${IMAGE} echo pulled-and-ran`);
    expect(pull.out, pull.raw).toBe('pulled-and-ran');
    const hub = hostsByName.init!.overlayAddress;
    const read = on('cloud2', `nfs-cat 'nfs://${hub}/project-export/README.txt?version=4'`);
    expect(read.out, read.raw).toBe('shared with every host');
    expect(on('cloud1', 'ip link show pcc0').out).toMatch(/ mtu 1420 /);
  });

  it('every host is a swarm node, labelled with its host, kind and site', () => {
    const nodes = on('init', `docker node ls -q | xargs docker node inspect --format '{{index .Spec.Labels "pcc.host"}} {{index .Spec.Labels "pcc.site"}} {{index .Spec.Labels "pcc.kind"}} {{.Status.State}}'`);
    expect(nodes.out.split('\n').sort(), nodes.raw).toEqual([
      'cloud1 cloud cpu ready',
      'cloud2 cloud cpu ready',
      'init home controller ready',
      'local1 home cpu ready',
    ]);
  });

  it('containers on the pcc network reach each other across the NAT by name and by IP; 10 MB arrive intact', () => {
    const sum = startWeb('local1', 'web-home');
    expect(fetchSum('cloud1', 'http://web-home:8080/f')).toBe(sum);
    const ip = on('local1', `docker inspect -f '{{(index .NetworkSettings.Networks "pcc").IPAddress}}' web-home`).out;
    expect(ip).toMatch(/^10\.215\.\d+\.\d+$/);
    expect(fetchSum('cloud2', `http://${ip}:8080/f`)).toBe(sum);
    // Containers get the overlay's MTU less VXLAN's 50 bytes, and reach the registry through their host.
    expect(inContainer('cloud1', 'cat /sys/class/net/eth0/mtu').out).toBe('1370');
    const registry = on('cloud1', 'echo "$REGISTRY_HOST"').out;
    expect(inContainer('cloud1', `wget -q -O - http://${registry}/v2/_catalog`).out).toContain('mybusybox');
  }, 120_000);

  it('traffic between the two cloud hosts goes directly: the controller\'s counters for them do not grow while 10 MB passes', () => {
    const sum = startWeb('cloud2', 'web-cloud');
    const hubBefore = transfer('init');
    const directBefore = transfer('cloud1').get(key('cloud2')) ?? 0;
    expect(fetchSum('cloud1', 'http://web-cloud:8080/f')).toBe(sum);
    const hubAfter = transfer('init');
    for (const h of ['cloud1', 'cloud2']) {
      const grew = (hubAfter.get(key(h)) ?? 0) - (hubBefore.get(key(h)) ?? 0);
      expect(grew, `the controller carried ${grew} bytes for ${h}`).toBeLessThan(1_000_000);
    }
    const direct = (transfer('cloud1').get(key('cloud2')) ?? 0) - directBefore;
    expect(direct).toBeGreaterThan(10 * 1024 * 1024);
  }, 120_000);

  it('a second setup changes nothing', () => {
    const again = json('setup', 'all');
    // Every host, counted first: a loop over no hosts would pass without checking anything.
    expect(again.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['cloud1', 'cloud2', 'init', 'local1']);
    for (const h of again.hosts) expect(h.changed, `${h.host}: ${JSON.stringify(h.ops.filter((o: { status: string }) => o.status !== 'ok'))}`).toBe(0);
  }, 120_000);

  it('save and resume: the overlay, the mesh and the swarm heal, and no host was made', () => {
    expect(p('save', 'local').code).toBe(0);
    const resumed = json('resume', 'local');
    expect(resumed.hosts.map((h: { name: string }) => h.name).sort()).toEqual(['cloud1', 'cloud2', 'init', 'local1']);
    expect(resumed.setup.hosts.every((h: { status: string }) => h.status === 'ok' || h.status === 'changed')).toBe(true);
    let nodes = '';
    for (let i = 0; i < 60 && !/^(\S+ ready\n?){4}$/.test(nodes); i++) {
      if (i > 0) spawnSleep(1000);
      nodes = on('init', `docker node ls -q | xargs docker node inspect --format '{{index .Spec.Labels "pcc.host"}} {{.Status.State}}'`).out.split('\n').sort().join('\n');
    }
    expect(nodes).toBe(['cloud1 ready', 'cloud2 ready', 'init ready', 'local1 ready'].join('\n'));
    for (const to of ['cloud2', 'init']) {
      const ping = overlayPing('cloud1', to);
      expect(ping.ok, ping.report).toBe(true);
    }
    const sum = startWeb('local1', 'web-again');
    expect(fetchSum('cloud2', 'http://web-again:8080/f')).toBe(sum);
  }, 240_000);
});
