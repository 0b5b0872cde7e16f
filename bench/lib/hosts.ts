// What the benchmarks share: N real loopback sshd hosts (test/fixtures/sshd.ts)
// with a pcc project and an Ansible setup for them, optionally reached through
// the delay proxy (bench/net/delay-proxy.mjs), timed runs of pcc and Ansible
// on them, the load average sampled while they run, and cleanup of every sshd
// and proxy, also when the run is interrupted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { startSshdHosts, type SshdFleet } from '../../test/fixtures/sshd.js';
import { recordScripts } from '../engine/record-scripts.js';

export const repo = path.resolve(import.meta.dirname, '../..');
export const pccBin = path.join(repo, 'bin/pcc.js');
export const playbooks = {
  pcc: path.join(repo, 'bench/engine/compute-host.pcc.ts'),
  ansible: path.join(repo, 'bench/engine/compute-host.ansible.yml'),
  pyinfra: path.join(repo, 'bench/engine/compute-host.pyinfra.py'),
};

// ---- small helpers ----

/** `--name value` from argv, else the fallback. */
export function option(argv: readonly string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const fmt = (x: number | undefined, digits = 2): string => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));
export const today = (): string => new Date().toISOString().slice(0, 10);
export const machine = (): string => `${process.version}, ${cpus().length} cores`;

export function versionOf(cmd: string): string {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : 'not found';
}

export interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end and times it. Asynchronous, so that the load
 * sampler keeps ticking while the tools run.
 */
export function timed(cmd: string, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(' ')} failed (${code}): ${stderr.slice(-2000)}${stdout.slice(-2000)}`));
      else resolve({ seconds, stdout, stderr });
    });
  });
}

// ---- the load average, sampled during a benchmark ----

export interface LoadSummary {
  start: number;
  end: number;
  min: number;
  max: number;
  mean: number;
  samples: number;
}

const oneMinute = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Samples the 1-minute load average every `everyMs` until stopped. */
export function sampleLoad(everyMs = 5_000): { stop(): LoadSummary } {
  const xs = [oneMinute()];
  const timer = setInterval(() => xs.push(oneMinute()), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      xs.push(oneMinute());
      return {
        start: xs[0]!,
        end: xs[xs.length - 1]!,
        min: Math.min(...xs),
        max: Math.max(...xs),
        mean: xs.reduce((a, b) => a + b, 0) / xs.length,
        samples: xs.length,
      };
    },
  };
}

export const describeLoad = (l: LoadSummary): string =>
  `1-minute load average ${fmt(l.start)} at the start, ${fmt(l.min)}–${fmt(l.max)} during the run (mean ${fmt(l.mean)}, ${l.samples} samples) and ${fmt(l.end)} at the end`;

// ---- the delay proxy ----

export interface ProxyStats {
  connections: number;
  chunksUp: number;
  chunksDown: number;
  bytesUp: number;
  bytesDown: number;
  /** Server chunks that answered client data: round trips on the wire. */
  turns: number;
  lateMsMean: number;
  lateMsMax: number;
}

export interface DelayProxy {
  /** The port in front of each target, in the targets' order, on 127.0.0.1. */
  ports: number[];
  /** Counters since the last call (or the start). */
  stats(): Promise<ProxyStats>;
  stop(): void;
}

/** One delay-proxy process with a port for each target; `oneWayMs` each way, so a round trip costs twice that. */
export async function startDelayProxy(oneWayMs: number, targets: readonly { address: string; port: number }[]): Promise<DelayProxy> {
  // Niced up (-10; nice execs node, so the PID is the proxy's): the link is not
  // what should wait for a CPU when the tools and the hosts saturate both cores.
  const child: ChildProcess = spawn('nice', ['-n', '-10', 'node', path.join(repo, 'bench/net/delay-proxy.mjs'), '--one-way-ms', String(oneWayMs), ...targets.map((t) => `${t.address}:${t.port}`)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else lines.push(line);
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      if (lines.length) return resolve(lines.shift()!);
      waiting.push(resolve);
      child.once('exit', (code) => reject(new Error(`delay proxy exited (${code})`)));
    });
  const { ports } = JSON.parse(await next()) as { ports: number[] };
  return {
    ports,
    async stats() {
      child.stdin!.write('stats\n');
      return JSON.parse(await next()) as ProxyStats;
    },
    stop() {
      if (child.pid && child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

// ---- hosts, with a pcc project and an Ansible setup ----

export interface BenchHost {
  name: string;
  /** Where the tools connect: the sshd itself, or its port on the delay proxy. */
  address: string;
  port: number;
}

export interface Setup {
  fleet: SshdFleet;
  hosts: BenchHost[];
  dir: string;
  /** HOME is a folder of the setup's own, so no tool reads this machine's ~/.ssh or ~/.ansible. */
  env: NodeJS.ProcessEnv;
  project: string;
  /** Each tool writes its files under a root of its own (one folder per host below it). */
  pccRoot: string;
  ansibleRoot: string;
  pyinfraRoot: string;
  ansibleConfig: string;
  proxy?: DelayProxy;
  stop(): Promise<void>;
}

// Interrupted runs still stop the sshd hosts and proxies they started.
const live = new Set<Setup>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void Promise.all([...live].map((s) => s.stop())).finally(() => process.exit(130));
  });
}

export interface SetupOptions {
  prefix?: string;
  /** 'machine': the hosts log in with this machine's own /root (see test/fixtures/sshd.ts). */
  home?: 'own' | 'machine';
  /** Reach every host through the delay proxy, with this one-way delay in ms. */
  oneWayMs?: number;
}

/**
 * N sshd hosts, an Ansible inventory and config for them (pipelining,
 * ControlPersist (10 minutes, so that masters outlast the latency benchmark's
 * interleaved runs), forks=N, no fact gathering, its own known_hosts, trust on
 * first use), and a pcc project that imports the same inventory.
 */
export async function benchHosts(n: number, options: SetupOptions = {}): Promise<Setup> {
  const fleet = await startSshdHosts(n, { prefix: options.prefix ?? 'c', home: options.home ?? 'own' });
  const dir = mkdtempSync(path.join(tmpdir(), 'pcc-bench-'));
  let proxy: DelayProxy | undefined;
  const setup: Setup = {
    fleet,
    hosts: [],
    dir,
    env: {},
    project: path.join(dir, 'project'),
    pccRoot: path.join(dir, 'roots-pcc'),
    ansibleRoot: path.join(dir, 'roots-ansible'),
    pyinfraRoot: path.join(dir, 'roots-pyinfra'),
    ansibleConfig: path.join(dir, 'ansible.cfg'),
    async stop() {
      live.delete(setup);
      proxy?.stop();
      await fleet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(setup);
  try {
    if (options.oneWayMs !== undefined) {
      proxy = await startDelayProxy(options.oneWayMs, fleet.hosts);
      setup.proxy = proxy;
    }
    setup.hosts = fleet.hosts.map((h, i) => ({ name: h.name, address: proxy ? '127.0.0.1' : h.address, port: proxy ? proxy.ports[i]! : h.port }));
    const home = path.join(dir, 'home');
    mkdirSync(path.join(setup.project, 'config'), { recursive: true });
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(setup.project, 'config/vars.env'), `BENCH_ROOT=${setup.pccRoot}\n`);
    setup.env = { ...process.env, HOME: home };
    const inventory = path.join(dir, 'inventory.ini');
    writeFileSync(
      inventory,
      setup.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port} ansible_user=root ansible_ssh_private_key_file=${fleet.key}`).join('\n') + '\n',
    );
    writeFileSync(
      setup.ansibleConfig,
      [
        '[defaults]',
        `inventory = ${inventory}`,
        `forks = ${n}`,
        'gathering = explicit',
        'interpreter_python = /usr/bin/python3',
        'retry_files_enabled = false',
        'stdout_callback = default',
        '[ssh_connection]',
        'pipelining = true',
        `ssh_args = -o ControlMaster=auto -o ControlPersist=10m -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${path.join(dir, 'ansible_known_hosts')}`,
        `control_path_dir = ${path.join(dir, 'cp')}`,
        '',
      ].join('\n'),
    );
    // pcc's hosts are the same inventory, imported.
    await timed('node', [pccBin, 'hosts', 'import', inventory, '--project', setup.project], setup.env);
    return setup;
  } catch (err) {
    await setup.stop();
    throw err;
  }
}

/** Runs `body` on a fresh setup and stops it afterwards, whatever happens. */
export async function withHosts<T>(n: number, options: SetupOptions, body: (s: Setup) => Promise<T>): Promise<T> {
  const s = await benchHosts(n, options);
  try {
    return await body(s);
  } finally {
    await s.stop();
  }
}

/** Before a first run: the hosts' pcc files and pcc's fact memory go, so nothing is remembered. */
export function wipeForFirstRun(s: Setup): void {
  rmSync(s.pccRoot, { recursive: true, force: true });
  rmSync(path.join(s.project, '.pcc/cache/facts'), { recursive: true, force: true });
}

export interface PccRun {
  seconds: number;
  /** The most round trips any host's shell session made. */
  roundTrips: number;
  changed: number;
  /** Peak RSS in MB (GNU time's %M), when asked for. */
  rssMb?: number;
  /** pcc's own CPU seconds (user + system), with rssMb. */
  cpuSeconds?: number;
  /** CPU seconds the whole machine was busy during the run (every core, every process: the hosts' sshd and shells too, and anyone else's work). */
  machineCpuSeconds: number;
}

/** Busy CPU seconds of the whole machine since boot, summed over the cores (/proc/stat). */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = f[3]! + f[4]!;
  return (f.reduce((a, b) => a + b, 0) - idle) / 100;
}

/** `pcc run` of the compute-host playbook on every host, with --json. */
export async function pccRun(s: Setup, options: { rss?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<PccRun> {
  const argv = [pccBin, 'run', playbooks.pcc, 'all', '--project', s.project, '--json'];
  const env = { ...s.env, ...options.env };
  const rssFile = path.join(s.dir, 'rss');
  const busy = machineBusySeconds();
  const r = options.rss ? await timed('/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, 'node', ...argv], env) : await timed('node', argv, env);
  const machineCpuSeconds = machineBusySeconds() - busy;
  const [rssKb, user, sys] = options.rss ? readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [];
  const result = JSON.parse(r.stdout) as { hosts: { roundTrips: number; changed: number; status: string; host: string; error?: string }[] };
  const bad = result.hosts.filter((h) => h.status === 'failed' || h.status === 'unreachable');
  if (bad.length) throw new Error(`pcc run failed on ${bad.length} hosts, first ${bad[0]!.host}: ${bad[0]!.error ?? bad[0]!.status}`);
  if (result.hosts.length !== s.hosts.length) throw new Error(`pcc ran on ${result.hosts.length} of ${s.hosts.length} hosts`);
  return {
    seconds: r.seconds,
    roundTrips: Math.max(...result.hosts.map((h) => h.roundTrips)),
    changed: result.hosts.reduce((a, h) => a + h.changed, 0),
    rssMb: rssKb === undefined ? undefined : rssKb / 1024,
    cpuSeconds: user === undefined ? undefined : user + sys!,
    machineCpuSeconds,
  };
}

export interface AnsibleRun {
  seconds: number;
  changed: number;
}

/** ansible-playbook of the compute-host playbook on every host. */
export async function ansibleRun(s: Setup): Promise<AnsibleRun> {
  const r = await timed('ansible-playbook', [playbooks.ansible, '-e', `bench_root=${s.ansibleRoot}`], { ...s.env, ANSIBLE_CONFIG: s.ansibleConfig });
  const changed = [...r.stdout.matchAll(/changed=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  return { seconds: r.seconds, changed };
}

/** Each host's files as `path` and content, for checking that the tools wrote the same. */
function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of readdirSync(root, { recursive: true, encoding: 'utf8' }).sort()) {
    const file = path.join(root, rel);
    out.set(rel, statSync(file).isDirectory() ? '<dir>' : readFileSync(file).toString('base64'));
  }
  return out;
}

/** Fails unless another tool wrote, on every host, the same files with the same content as pcc. */
export function sameFiles(s: Setup, otherRoot: string, tool: string): void {
  for (const h of s.hosts) {
    const want = tree(path.join(s.pccRoot, h.name));
    const got = tree(path.join(otherRoot, h.name));
    const differ = [...new Set([...want.keys(), ...got.keys()])].filter((k) => want.get(k) !== got.get(k));
    if (differ.length) throw new Error(`${tool} on ${h.name} did not write what pcc wrote: ${differ.join(', ')}`);
  }
}

// ---- the floor ----

export interface FloorScripts {
  first: string;
  again: string;
}

/**
 * pcc's scripts for a first run and a re-run, recorded from its own runner
 * (record-scripts.ts), for the floor to replay. Leaves pcc's files on the
 * hosts as a re-run finds them.
 */
export async function recordFloor(s: Setup): Promise<FloorScripts> {
  const files = { first: path.join(s.dir, 'floor-first.json'), again: path.join(s.dir, 'floor-again.json') };
  const common = {
    playbook: playbooks.pcc,
    hosts: s.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, key: s.fleet.key })),
    vars: { BENCH_ROOT: s.pccRoot },
    cacheDir: path.join(s.dir, 'floor-cache'),
    factsDir: path.join(s.dir, 'floor-facts'),
  };
  rmSync(s.pccRoot, { recursive: true, force: true });
  await recordScripts({ ...common, out: files.first });
  await recordScripts({ ...common, out: files.again });
  return files;
}

/**
 * One replay of recorded scripts by floor.mjs: per host one raw ssh2
 * connection and one `sh -s` session, round trip by round trip. A first run
 * wipes pcc's files first.
 */
export async function floorRun(s: Setup, scripts: FloorScripts, scenario: 'first' | 'again'): Promise<{ seconds: number; machineCpuSeconds: number }> {
  if (scenario === 'first') rmSync(s.pccRoot, { recursive: true, force: true });
  const busy = machineBusySeconds();
  const r = await timed('node', [path.join(repo, 'bench/engine/floor.mjs'), scripts[scenario]], s.env);
  return { seconds: r.seconds, machineCpuSeconds: machineBusySeconds() - busy };
}

// ---- reports ----

export interface SummaryRow {
  part: string;
  measure: string;
  value: string;
  target?: string;
  met?: boolean;
}

/** What one benchmark hands back: its own tables as markdown, and its headline figures for `npm run bench`'s summary. */
export interface Report {
  title: string;
  text: string;
  summary: SummaryRow[];
}

export function summaryTable(rows: readonly SummaryRow[]): string {
  return [
    '| part | measure | value | target | met |',
    '|---|---|---:|---|---|',
    ...rows.map((r) => `| ${r.part} | ${r.measure} | ${r.value} | ${r.target ?? '-'} | ${r.met === undefined ? '-' : r.met ? 'yes' : 'no'} |`),
  ].join('\n');
}

/** For a benchmark that is also run on its own: is this module the entry point? */
export const isMain = (url: string): boolean => process.argv[1] !== undefined && url === pathToFileURL(path.resolve(process.argv[1])).href;

/** Runs one benchmark as a script: prints its report and its summary rows. */
export async function runAsScript(bench: (argv: string[]) => Promise<Report>): Promise<void> {
  try {
    const report = await bench(process.argv.slice(2));
    console.log(report.text);
    console.log(`\n${summaryTable(report.summary)}`);
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  }
}
