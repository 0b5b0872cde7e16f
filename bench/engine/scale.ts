// Scale: the engine benchmark's 11-step compute-host playbook on many sshd
// hosts: pcc on N = 20 (the anchor), 50, 100 and 200, Ansible (pipelining,
// ControlPersist, forks=N, no fact gathering) at 50.
// Run: npm run build && npx tsx bench/engine/scale.ts [--sizes 20,50,100,200]
//   [--ansible-sizes 50] [--reps 3] [--concurrency K]
//
// Per size: wall time of a first run and a re-run, pcc's peak RSS (GNU time),
// and the marginal cost per host (the seconds added per host over the size
// before). pcc runs with its settings' defaults unless --concurrency sets
// PCC_CONCURRENCY (how many hosts it works on at once). Targets: 200 hosts in
// at most 4× the time of 20 hosts; at most 300 MB RSS at 200.
// Every sshd sets MaxStartups 200 (test/fixtures/sshd.ts), and each host has
// an sshd of its own, so no handshake is dropped for concurrency.
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import {
  ansibleRun,
  describeLoad,
  fmt,
  isMain,
  machine,
  median,
  option,
  floorRun,
  pccRun,
  recordFloor,
  runAsScript,
  sameFiles,
  sampleLoad,
  today,
  wipeForFirstRun,
  withHosts,
  type Report,
} from '../lib/hosts.js';

interface Row {
  n: number;
  first: number;
  again: number;
  rssFirst: number;
  rssAgain: number;
  roundTrips: [number, number];
  /** pcc's own CPU seconds, and the whole machine's busy CPU seconds during the run (medians). */
  cpuFirst: number;
  cpuAgain: number;
  machineFirst: number;
  machineAgain: number;
  floorFirst: number;
  floorAgain: number;
  floorMachineFirst: number;
  ansibleFirst?: number;
  ansibleAgain?: number;
}

export async function scaleBench(argv: string[]): Promise<Report> {
  const sizes = option(argv, 'sizes', '20,50,100,200').split(',').map(Number);
  const ansibleSizes = new Set(option(argv, 'ansible-sizes', '50').split(',').filter(Boolean).map(Number));
  const reps = Number(option(argv, 'reps', '3'));
  const concurrency = option(argv, 'concurrency', '');
  const env = concurrency ? { PCC_CONCURRENCY: concurrency } : {};
  const load = sampleLoad();
  const rows: Row[] = [];
  for (const n of sizes) {
    await withHosts(n, { prefix: 's' }, async (s) => {
      await pccRun(s, { env });
      const first: { t: number; rss: number; cpu: number; machine: number }[] = [];
      const again: { t: number; rss: number; cpu: number; machine: number }[] = [];
      const rt: [number, number] = [0, 0];
      for (let i = 0; i < reps; i++) {
        wipeForFirstRun(s);
        const a = await pccRun(s, { rss: true, env });
        first.push({ t: a.seconds, rss: a.rssMb!, cpu: a.cpuSeconds!, machine: a.machineCpuSeconds });
        const b = await pccRun(s, { rss: true, env });
        again.push({ t: b.seconds, rss: b.rssMb!, cpu: b.cpuSeconds!, machine: b.machineCpuSeconds });
        rt[0] = a.roundTrips;
        rt[1] = b.roundTrips;
      }
      const row: Row = {
        n,
        first: median(first.map((x) => x.t)),
        again: median(again.map((x) => x.t)),
        rssFirst: Math.max(...first.map((x) => x.rss)),
        rssAgain: Math.max(...again.map((x) => x.rss)),
        roundTrips: rt,
        cpuFirst: median(first.map((x) => x.cpu)),
        cpuAgain: median(again.map((x) => x.cpu)),
        machineFirst: median(first.map((x) => x.machine)),
        machineAgain: median(again.map((x) => x.machine)),
        floorFirst: 0,
        floorAgain: 0,
        floorMachineFirst: 0,
      };
      // The floor: the same scripts, replayed over raw ssh2 (see floor.mjs).
      const scripts = await recordFloor(s);
      const ff: { seconds: number; machineCpuSeconds: number }[] = [];
      const fa: number[] = [];
      for (let i = 0; i < reps; i++) {
        ff.push(await floorRun(s, scripts, 'first'));
        fa.push((await floorRun(s, scripts, 'again')).seconds);
      }
      row.floorFirst = median(ff.map((x) => x.seconds));
      row.floorMachineFirst = median(ff.map((x) => x.machineCpuSeconds));
      row.floorAgain = median(fa);
      if (ansibleSizes.has(n)) {
        await ansibleRun(s);
        rmSync(s.ansibleRoot, { recursive: true, force: true });
        row.ansibleFirst = (await ansibleRun(s)).seconds;
        row.ansibleAgain = (await ansibleRun(s)).seconds;
        sameFiles(s, s.ansibleRoot, 'Ansible');
      }
      rows.push(row);
      process.stderr.write(`scale: N=${n} done\n`);
    });
  }
  const loadSeen = load.stop();

  const cores = cpus().length;
  const anchor = rows.find((r) => r.n === 20) ?? rows[0]!;
  const table = [
    '| hosts | pcc first run s | pcc re-run s | / 20 hosts (first / re-run) | marginal ms per host (first / re-run) | pcc peak RSS MB (first / re-run) | pcc CPU s (first / re-run) | machine CPU s (first / re-run) | floor s (first / re-run) | pcc / floor | Ansible s (first / re-run) | Ansible / pcc |',
    '|---:|---:|---:|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r, i) => {
      const prev = rows[i - 1];
      const marginal = prev ? `${fmt(((r.first - prev.first) / (r.n - prev.n)) * 1000, 1)} / ${fmt(((r.again - prev.again) / (r.n - prev.n)) * 1000, 1)}` : '-';
      const ratio = r === anchor ? '1.00 / 1.00' : `${fmt(r.first / anchor.first)} / ${fmt(r.again / anchor.again)}`;
      const vsAnsible = r.ansibleFirst ? `${fmt(r.ansibleFirst / r.first, 1)} / ${fmt(r.ansibleAgain! / r.again, 1)}` : '-';
      const ansible = r.ansibleFirst ? `${fmt(r.ansibleFirst)} / ${fmt(r.ansibleAgain)}` : '-';
      return `| ${r.n} | ${fmt(r.first)} | ${fmt(r.again)} | ${ratio} | ${marginal} | ${fmt(r.rssFirst, 0)} / ${fmt(r.rssAgain, 0)} | ${fmt(r.cpuFirst)} / ${fmt(r.cpuAgain)} | ${fmt(r.machineFirst, 1)} / ${fmt(r.machineAgain, 1)} | ${fmt(r.floorFirst)} / ${fmt(r.floorAgain)} | ${fmt(r.first / r.floorFirst)} / ${fmt(r.again / r.floorAgain)} | ${ansible} | ${vsAnsible} |`;
    }),
  ];
  const text = [
    `Scale: pcc ${reps} reps (medians; RSS the largest of them), Ansible 1 rep; ${today()}, ${machine()}, PCC_CONCURRENCY ${concurrency || 'default (32)'}`,
    `${describeLoad(loadSeen)}.`,
    `Round trips on each host's session: ${rows.map((r) => `${r.roundTrips[0]} / ${r.roundTrips[1]}`).join(', ')} (first run / re-run). Machine CPU: busy seconds of both cores during the run, every process (pcc, the hosts' sshd and shells, and anything else running); ${rows.map((r) => `${r.n} hosts: ${fmt((r.machineFirst / (cores * r.first)) * 100, 0)}%`).join(', ')} of ${cores} cores busy on pcc's first run, ${rows.map((r) => `${fmt((r.floorMachineFirst / (cores * r.floorFirst)) * 100, 0)}%`).join(', ')} on the floor's (${rows.map((r) => fmt(r.floorMachineFirst, 1)).join(', ')} CPU s).`,
    '',
    ...table,
  ].join('\n');

  const summary: Report['summary'] = [];
  const top = rows.reduce((a, b) => (b.n > a.n ? b : a));
  if (top !== anchor) {
    // The targets are for 200 hosts; other sizes are reported without one.
    const at200 = top.n === 200 && anchor.n === 20;
    for (const [run, t, a] of [
      ['first run', top.first, anchor.first],
      ['re-run', top.again, anchor.again],
    ] as const) {
      summary.push({ part: 'scale', measure: `${top.n} hosts / ${anchor.n} hosts, ${run}`, value: fmt(t / a), ...(at200 ? { target: '≤4', met: t / a <= 4 } : {}) });
    }
  }
  const rss = Math.max(top.rssFirst, top.rssAgain);
  summary.push({ part: 'scale', measure: `peak RSS at ${top.n} hosts`, value: `${fmt(rss, 0)} MB`, ...(top.n === 200 ? { target: '≤300 MB', met: rss <= 300 } : {}) });
  for (const r of rows.filter((x) => x.ansibleFirst)) {
    summary.push({ part: 'scale', measure: `${r.n} hosts, first run: pcc s (Ansible s)`, value: `${fmt(r.first)} (${fmt(r.ansibleFirst)})` });
  }
  return { title: 'scale', text, summary };
}

if (isMain(import.meta.url)) await runAsScript(scaleBench);
