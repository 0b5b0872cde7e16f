// Engine benchmark: pcc vs Ansible (pipelining, ControlPersist, forks=N, no
// fact gathering) vs pyinfra 3 (--parallel N) vs the raw ssh2 floor, on N real
// loopback sshd hosts.
// Run: npm run build && npx tsx bench/engine/run.ts [--sizes 1,5,20] [--reps 3]
//   [--no-ansible] [--no-pyinfra]   (peak RSS on many hosts: bench/engine/scale.ts)
//   [--machine-home]: the hosts log in with this machine's own /root (whose
//   .bashrc runs pyenv init for every SSH session) instead of a home of their own.
//
// Every tool gets one untimed warm-up run per size: host keys are recorded and
// pcc's playbook is compiled once, as on any run after a user's first. pyinfra's
// inventory and known_hosts are pcc's own export (`pcc inventory --pyinfra`),
// written after pcc's warm-up has recorded the host keys. Before
// every first run pcc's fact memory is wiped with the hosts' files, so a first
// run reads nothing remembered.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  ansibleRun,
  floorRun,
  fmt,
  isMain,
  machine,
  median,
  option,
  pccBin,
  pccRun,
  playbooks,
  recordFloor,
  runAsScript,
  sameFiles,
  sampleLoad,
  describeLoad,
  timed,
  today,
  versionOf,
  wipeForFirstRun,
  withHosts,
  type Report,
  type Setup,
} from '../lib/hosts.js';

// pyinfra itself, not pyenv's shim (a bash script that runs `pyenv exec`), so
// that pyinfra is not charged for pyenv's start-up.
function pyinfraCommand(): string {
  const r = spawnSync('pyenv', ['which', 'pyinfra'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : 'pyinfra';
}

/** pyinfra's inventory module and known_hosts, from pcc's hosts and the host keys pcc recorded. */
async function pyinfraInventory(s: Setup): Promise<void> {
  await timed('node', [pccBin, 'inventory', '--pyinfra', path.join(s.dir, 'inventory.py'), '--project', s.project], s.env);
}

async function pyinfraRun(s: Setup, bin: string): Promise<{ seconds: number; changed: number }> {
  const n = s.hosts.length;
  const r = await timed(bin, ['-y', '--parallel', String(n), '--data', `bench_root=${s.pyinfraRoot}`, path.join(s.dir, 'inventory.py'), playbooks.pyinfra], s.env);
  // The results table ends with `Grand total  <ops>  <success>  <error>  <no change>`, on stderr; a dash is 0.
  const total = /Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(r.stderr);
  if (!total) throw new Error(`pyinfra printed no results table: ${r.stderr.slice(-2000)}`);
  const count = (x: string) => (x === '-' ? 0 : Number(x));
  if (count(total[3]!) > 0) throw new Error(`pyinfra run had errors: ${r.stderr.slice(-2000)}`);
  return { seconds: r.seconds, changed: count(total[2]!) };
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

export async function engineBench(argv: string[]): Promise<Report> {
  const sizes = option(argv, 'sizes', '1,5,20').split(',').map(Number);
  const reps = Number(option(argv, 'reps', '3'));
  const skipAnsible = argv.includes('--no-ansible');
  const skipPyinfra = argv.includes('--no-pyinfra');
  const loginHome = argv.includes('--machine-home') ? 'machine' : 'own';
  const pyinfraBin = skipPyinfra ? 'pyinfra' : pyinfraCommand();
  const load = sampleLoad();
  const rows: Row[] = [];
  for (const n of sizes) {
    await withHosts(n, { prefix: 'c', home: loginHome }, async (s) => {
      const first = { pcc: [] as number[], ansible: [] as number[], pyinfra: [] as number[], rt: 0, pc: 0, ac: 0, yc: 0 };
      const again = { pcc: [] as number[], ansible: [] as number[], pyinfra: [] as number[], rt: 0, pc: 0, ac: 0, yc: 0 };
      await pccRun(s);
      if (!skipAnsible) await ansibleRun(s);
      if (!skipPyinfra) {
        await pyinfraInventory(s);
        await pyinfraRun(s, pyinfraBin);
      }
      for (let i = 0; i < reps; i++) {
        wipeForFirstRun(s);
        const a = await pccRun(s);
        first.pcc.push(a.seconds);
        first.rt = a.roundTrips;
        first.pc = a.changed;
        const b = await pccRun(s);
        again.pcc.push(b.seconds);
        again.rt = b.roundTrips;
        again.pc = b.changed;
        if (!skipAnsible) {
          rmSync(s.ansibleRoot, { recursive: true, force: true });
          const c = await ansibleRun(s);
          first.ansible.push(c.seconds);
          first.ac = c.changed;
          const d = await ansibleRun(s);
          again.ansible.push(d.seconds);
          again.ac = d.changed;
        }
        if (!skipPyinfra) {
          rmSync(s.pyinfraRoot, { recursive: true, force: true });
          const e = await pyinfraRun(s, pyinfraBin);
          first.pyinfra.push(e.seconds);
          first.yc = e.changed;
          const f = await pyinfraRun(s, pyinfraBin);
          again.pyinfra.push(f.seconds);
          again.yc = f.changed;
        }
      }
      if (!skipAnsible) sameFiles(s, s.ansibleRoot, 'Ansible');
      if (!skipPyinfra) sameFiles(s, s.pyinfraRoot, 'pyinfra');
      const recorded = await recordFloor(s);
      const ff: number[] = [];
      const fa: number[] = [];
      for (let i = 0; i < reps; i++) ff.push((await floorRun(s, recorded, 'first')).seconds);
      for (let i = 0; i < reps; i++) fa.push((await floorRun(s, recorded, 'again')).seconds);
      for (const [scenario, m, floor] of [
        ['first run', first, median(ff)],
        ['re-run', again, median(fa)],
      ] as const) {
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
      process.stderr.write(`engine: N=${n} done\n`);
    });
  }

  // `pcc --help` cold: a fresh node process each time.
  const helpTimes: number[] = [];
  for (let i = 0; i < 11; i++) helpTimes.push((await timed('node', [pccBin, '--help'], process.env)).seconds);
  const loadSeen = load.stop();
  const helpMs = median(helpTimes) * 1000;

  const text = [
    `Engine benchmark: ${reps} reps, medians, ${today()}, ${machine()}, hosts log in with ${loginHome === 'own' ? 'a root home of their own' : "this machine's /root"}`,
    `Tools: ${skipAnsible ? '' : `${versionOf('ansible-playbook')}, `}${skipPyinfra ? '' : `pyinfra ${versionOf(pyinfraBin).replace(/^pyinfra: /, '')} (--parallel N), `}${describeLoad(loadSeen)}`,
    '',
    '| hosts | run | Ansible s | pyinfra s | pcc s | floor s | pcc round trips (one session) | Ansible / pcc (target ≥30) | pyinfra / pcc | pcc / floor (target ≤1.5) | changed pcc / Ansible / pyinfra |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.n} | ${r.scenario} | ${fmt(r.ansible)} | ${fmt(r.pyinfra)} | ${fmt(r.pcc)} | ${fmt(r.floor)} | ${r.roundTrips} | ${r.ansible ? fmt(r.ansible / r.pcc, 1) : '-'} | ${r.pyinfra ? fmt(r.pyinfra / r.pcc, 1) : '-'} | ${fmt(r.pcc / r.floor)} | ${r.pccChanged} / ${r.ansibleChanged ?? '-'} / ${r.pyinfraChanged ?? '-'} |`,
    ),
    '',
    `pcc --help cold: median ${fmt(helpMs, 0)} ms (target ≤150 ms)`,
  ].join('\n');

  const summary: Report['summary'] = [];
  const top = Math.max(...sizes);
  for (const r of rows.filter((x) => x.n === top)) {
    if (r.ansible) summary.push({ part: 'engine', measure: `${r.n} hosts, ${r.scenario}: Ansible / pcc`, value: fmt(r.ansible / r.pcc, 1), target: '≥30', met: r.ansible / r.pcc >= 30 });
    summary.push({ part: 'engine', measure: `${r.n} hosts, ${r.scenario}: pcc / floor`, value: fmt(r.pcc / r.floor), target: '≤1.5', met: r.pcc / r.floor <= 1.5 });
  }
  summary.push({ part: 'engine', measure: 'pcc --help cold', value: `${fmt(helpMs, 0)} ms`, target: '≤150 ms', met: helpMs <= 150 });
  return { title: 'engine', text, summary };
}

if (isMain(import.meta.url)) await runAsScript(engineBench);
