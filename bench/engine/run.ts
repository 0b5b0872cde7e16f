// Engine benchmark: pcc vs Ansible (pipelining, ControlPersist, forks=N, no
// fact gathering) vs pyinfra 3 (--parallel N) vs the raw ssh2 floor, on N real
// loopback sshd hosts.
// Run: npm run build && npx tsx bench/engine/run.ts [--sizes 1,5,20] [--reps 3]
//   [--no-ansible] [--no-pyinfra] [--no-memory]
//   [--machine-home]: the hosts log in with this machine's own /root (whose
//   .bashrc runs pyenv init for every SSH session) instead of a home of their own.
//
// Every tool gets one untimed warm-up run per size: host keys are recorded and
// pcc's playbook is compiled once, as on any run after a user's first. pyinfra's
// inventory and known_hosts are pcc's own export (`pcc inventory --pyinfra`),
// written after pcc's warm-up has recorded the host keys. Before
// every first run pcc's fact memory is wiped with the hosts' files, so a first
// run reads nothing remembered.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSshdHosts, type SshdFleet } from '../../test/fixtures/sshd.js';
import { recordScripts } from './record-scripts.js';

const repo = path.resolve(import.meta.dirname, '../..');
const pccBin = path.join(repo, 'bin/pcc.js');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const sizes = opt('sizes', '1,5,20').split(',').map(Number);
const reps = Number(opt('reps', '3'));
const skipAnsible = args.includes('--no-ansible');
const skipPyinfra = args.includes('--no-pyinfra');
const loginHome = args.includes('--machine-home') ? 'machine' : 'own';

// pyinfra itself, not pyenv's shim (a bash script that runs `pyenv exec`), so
// that pyinfra is not charged for pyenv's start-up.
function pyinfraCommand(): string {
  const r = spawnSync('pyenv', ['which', 'pyinfra'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : 'pyinfra';
}
const pyinfraBin = skipPyinfra ? 'pyinfra' : pyinfraCommand();
const versionOf = (cmd: string): string => {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : 'not found';
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv): { seconds: number; stdout: string; stderr: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

interface Setup {
  fleet: SshdFleet;
  dir: string;
  env: NodeJS.ProcessEnv;
  project: string;
  pccRoot: string;
  ansibleRoot: string;
  pyinfraRoot: string;
}

// Interrupted runs still stop the sshd hosts they started.
const live = new Set<SshdFleet>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void Promise.all([...live].map((f) => f.stop())).finally(() => process.exit(130));
  });
}

async function setup(n: number): Promise<Setup> {
  const fleet = await startSshdHosts(n, { prefix: 'c', home: loginHome });
  live.add(fleet);
  const dir = mkdtempSync(path.join(tmpdir(), 'pcc-bench-'));
  const home = path.join(dir, 'home');
  const project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  mkdirSync(home, { recursive: true });
  const pccRoot = path.join(dir, 'roots-pcc');
  const ansibleRoot = path.join(dir, 'roots-ansible');
  const pyinfraRoot = path.join(dir, 'roots-pyinfra');
  writeFileSync(path.join(project, 'config/vars.env'), `BENCH_ROOT=${pccRoot}\n`);
  const env = { ...process.env, HOME: home };
  for (const h of fleet.hosts) {
    execFileSync('node', [pccBin, 'hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key, '--project', project], { env });
  }
  // Ansible: the same hosts and key, its own known_hosts (trust on first use, as pcc does).
  writeFileSync(
    path.join(dir, 'inventory.ini'),
    fleet.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${fleet.key}`).join('\n') + '\n',
  );
  writeFileSync(
    path.join(dir, 'ansible.cfg'),
    [
      '[defaults]',
      `inventory = ${path.join(dir, 'inventory.ini')}`,
      `forks = ${n}`,
      'gathering = explicit',
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = false',
      'stdout_callback = default',
      '[ssh_connection]',
      'pipelining = true',
      `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${path.join(dir, 'ansible_known_hosts')}`,
      `control_path_dir = ${path.join(dir, 'cp')}`,
      '',
    ].join('\n'),
  );
  return { fleet, dir, env, project, pccRoot, ansibleRoot, pyinfraRoot };
}

function pccRun(s: Setup): { seconds: number; roundTrips: number; changed: number } {
  const r = timed('node', [pccBin, 'run', path.join(repo, 'bench/engine/compute-host.pcc.ts'), 'all', '--project', s.project, '--json'], s.env);
  const result = JSON.parse(r.stdout) as { hosts: { roundTrips: number; changed: number; status: string }[] };
  if (result.hosts.some((h) => h.status === 'failed' || h.status === 'unreachable')) throw new Error(`pcc run failed: ${r.stdout.slice(0, 2000)}`);
  return {
    seconds: r.seconds,
    roundTrips: Math.max(...result.hosts.map((h) => h.roundTrips)),
    changed: result.hosts.reduce((a, h) => a + h.changed, 0),
  };
}

function ansibleRun(s: Setup): { seconds: number; changed: number } {
  const r = timed('ansible-playbook', [path.join(repo, 'bench/engine/compute-host.ansible.yml'), '-e', `bench_root=${s.ansibleRoot}`], {
    ...s.env,
    ANSIBLE_CONFIG: path.join(s.dir, 'ansible.cfg'),
  });
  const changed = [...r.stdout.matchAll(/changed=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  return { seconds: r.seconds, changed };
}

/** pyinfra's inventory module and known_hosts, from pcc's hosts and the host keys pcc recorded. */
function pyinfraInventory(s: Setup): void {
  execFileSync('node', [pccBin, 'inventory', '--pyinfra', path.join(s.dir, 'inventory.py'), '--project', s.project], { env: s.env });
}

function pyinfraRun(s: Setup): { seconds: number; changed: number } {
  const n = s.fleet.hosts.length;
  const r = timed(
    pyinfraBin,
    ['-y', '--parallel', String(n), '--data', `bench_root=${s.pyinfraRoot}`, path.join(s.dir, 'inventory.py'), path.join(repo, 'bench/engine/compute-host.pyinfra.py')],
    s.env,
  );
  // The results table ends with `Grand total  <ops>  <success>  <error>  <no change>`, on stderr; a dash is 0.
  const total = /Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(r.stderr);
  if (!total) throw new Error(`pyinfra printed no results table: ${r.stderr.slice(-2000)}`);
  const count = (x: string) => (x === '-' ? 0 : Number(x));
  if (count(total[3]!) > 0) throw new Error(`pyinfra run had errors: ${r.stderr.slice(-2000)}`);
  return { seconds: r.seconds, changed: count(total[2]!) };
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

function sameFiles(s: Setup, otherRoot: string, tool: string): void {
  for (const h of s.fleet.hosts) {
    const want = tree(path.join(s.pccRoot, h.name));
    const got = tree(path.join(otherRoot, h.name));
    const differ = [...new Set([...want.keys(), ...got.keys()])].filter((k) => want.get(k) !== got.get(k));
    if (differ.length) throw new Error(`${tool} on ${h.name} did not write what pcc wrote: ${differ.join(', ')}`);
  }
}

function wipeForFirstRun(s: Setup): void {
  rmSync(s.pccRoot, { recursive: true, force: true });
  rmSync(path.join(s.project, '.pcc/cache/facts'), { recursive: true, force: true });
}

/** pcc's scripts for a first run and a re-run, recorded from its own runner, for the floor to replay. */
async function recordFloor(s: Setup): Promise<{ first: string; again: string }> {
  const files = { first: path.join(s.dir, 'floor-first.json'), again: path.join(s.dir, 'floor-again.json') };
  const factsDir = path.join(s.dir, 'floor-facts');
  const common = {
    playbook: path.join(repo, 'bench/engine/compute-host.pcc.ts'),
    hosts: s.fleet.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, key: s.fleet.key })),
    vars: { BENCH_ROOT: s.pccRoot },
    cacheDir: path.join(s.dir, 'floor-cache'),
    factsDir,
  };
  rmSync(s.pccRoot, { recursive: true, force: true });
  await recordScripts({ ...common, out: files.first });
  await recordScripts({ ...common, out: files.again });
  return files;
}

function floorRun(s: Setup, scripts: string): number {
  return timed('node', [path.join(repo, 'bench/engine/floor.mjs'), scripts], s.env).seconds;
}

interface Row {
  n: number;
  scenario: 'first run' | 're-run';
  pcc: number;
  ansible?: number;
  pyinfra?: number;
  floor: number;
  roundTrips: number;
  pccChanged: number;
  ansibleChanged?: number;
  pyinfraChanged?: number;
}

const rows: Row[] = [];
for (const n of sizes) {
  const s = await setup(n);
  try {
    const first = { pcc: [] as number[], ansible: [] as number[], pyinfra: [] as number[], rt: 0, pc: 0, ac: 0, yc: 0 };
    const again = { pcc: [] as number[], ansible: [] as number[], pyinfra: [] as number[], rt: 0, pc: 0, ac: 0, yc: 0 };
    pccRun(s);
    if (!skipAnsible) ansibleRun(s);
    if (!skipPyinfra) {
      pyinfraInventory(s);
      pyinfraRun(s);
    }
    for (let i = 0; i < reps; i++) {
      wipeForFirstRun(s);
      const a = pccRun(s);
      first.pcc.push(a.seconds);
      first.rt = a.roundTrips;
      first.pc = a.changed;
      const b = pccRun(s);
      again.pcc.push(b.seconds);
      again.rt = b.roundTrips;
      again.pc = b.changed;
      if (!skipAnsible) {
        rmSync(s.ansibleRoot, { recursive: true, force: true });
        const c = ansibleRun(s);
        first.ansible.push(c.seconds);
        first.ac = c.changed;
        const d = ansibleRun(s);
        again.ansible.push(d.seconds);
        again.ac = d.changed;
      }
      if (!skipPyinfra) {
        rmSync(s.pyinfraRoot, { recursive: true, force: true });
        const e = pyinfraRun(s);
        first.pyinfra.push(e.seconds);
        first.yc = e.changed;
        const f = pyinfraRun(s);
        again.pyinfra.push(f.seconds);
        again.yc = f.changed;
      }
    }
    if (!skipAnsible) sameFiles(s, s.ansibleRoot, 'Ansible');
    if (!skipPyinfra) sameFiles(s, s.pyinfraRoot, 'pyinfra');
    const recorded = await recordFloor(s);
    const floorFirst = median(
      Array.from({ length: reps }, () => {
        rmSync(s.pccRoot, { recursive: true, force: true });
        return floorRun(s, recorded.first);
      }),
    );
    const floorAgain = median(Array.from({ length: reps }, () => floorRun(s, recorded.again)));
    for (const [scenario, m, floor] of [['first run', first, floorFirst], ['re-run', again, floorAgain]] as const) {
      rows.push({
        n,
        scenario,
        pcc: median(m.pcc),
        ansible: skipAnsible ? undefined : median(m.ansible),
        pyinfra: skipPyinfra ? undefined : median(m.pyinfra),
        floor,
        roundTrips: m.rt,
        pccChanged: m.pc,
        ansibleChanged: skipAnsible ? undefined : m.ac,
        pyinfraChanged: skipPyinfra ? undefined : m.yc,
      });
    }
    process.stderr.write(`N=${n} done\n`);
  } finally {
    await s.fleet.stop();
    live.delete(s.fleet);
    rmSync(s.dir, { recursive: true, force: true });
  }
}

// `pcc --help` cold: a fresh node process each time.
const helpTimes = Array.from({ length: 11 }, () => timed('node', [pccBin, '--help'], process.env).seconds);

// Memory: one pcc run against 100 hosts, peak RSS from GNU time.
let rssMb: number | undefined;
if (!args.includes('--no-memory')) {
  const s = await setup(100);
  try {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'node', pccBin, 'run', path.join(repo, 'bench/engine/compute-host.pcc.ts'), 'all', '--project', s.project, '--json'], { env: s.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const last = r.stderr.trim().split('\n').pop() ?? '';
    rssMb = Number(last) / 1024;
    const parsed = JSON.parse(r.stdout) as { hosts: { status: string }[] };
    if (parsed.hosts.some((h) => h.status === 'failed' || h.status === 'unreachable')) throw new Error('100-host run failed');
  } finally {
    await s.fleet.stop();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

const fmt = (x: number | undefined, d = 2) => (x === undefined ? '-' : x.toFixed(d));
const lines = [
  `Engine benchmark: ${reps} reps, medians, ${new Date().toISOString().slice(0, 10)}, ${process.version}, ${(await import('node:os')).cpus().length} cores, hosts log in with ${loginHome === 'own' ? 'a root home of their own' : "this machine's /root"}`,
  `Tools: ${skipAnsible ? '' : `${versionOf('ansible-playbook')}, `}${skipPyinfra ? '' : `pyinfra ${versionOf(pyinfraBin).replace(/^pyinfra: /, '')} (--parallel N), `}load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`,
  '',
  '| hosts | run | Ansible s | pyinfra s | pcc s | floor s | pcc round trips (one session) | Ansible / pcc (target ≥30) | pyinfra / pcc | pcc / floor (target ≤1.5) | changed pcc / Ansible / pyinfra |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.n} | ${r.scenario} | ${fmt(r.ansible)} | ${fmt(r.pyinfra)} | ${fmt(r.pcc)} | ${fmt(r.floor)} | ${r.roundTrips} | ${r.ansible ? fmt(r.ansible / r.pcc, 1) : '-'} | ${r.pyinfra ? fmt(r.pyinfra / r.pcc, 1) : '-'} | ${fmt(r.pcc / r.floor)} | ${r.pccChanged} / ${r.ansibleChanged ?? '-'} / ${r.pyinfraChanged ?? '-'} |`,
  ),
  '',
  `pcc --help cold: median ${fmt(median(helpTimes) * 1000, 0)} ms (target ≤150 ms)`,
  rssMb === undefined ? '' : `pcc run on 100 hosts: peak RSS ${fmt(rssMb, 0)} MB (target ≤300 MB)`,
];
console.log(lines.join('\n'));
