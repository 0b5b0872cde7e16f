// Links with latency: the engine benchmark's 11-step compute-host playbook on
// N sshd hosts (20 by default), each reached through its own port on the delay
// proxy (bench/net/delay-proxy.mjs), at round-trip times of 0, 20 and 80 ms.
// pcc and Ansible (pipelining, ControlPersist, forks=N, no fact gathering)
// both connect through the proxy.
// Run: npm run build && npx tsx bench/net/latency.ts [--rtts 0,20,80] [--hosts 1,20]
//   [--reps 3] [--ansible-reps 2] (Ansible's reps above 5 hosts) [--no-ansible]
//
// Per run it reports seconds, pcc's own round trips on its one shell session
// per host, and what the proxy saw on the wire per host: new TCP connections
// and turns (a chunk from the sshd that answers data from the client, so
// every request/response exchange counts, the SSH handshake's included). The
// seconds a link adds over the 0 ms proxy, divided by the RTT, is the number
// of round trips on the run's critical path.
// Every RTT has a fleet of its own, all up at once, and each rep runs every
// RTT in turn (pcc's, then Ansible's, in alternating order), so that the
// machine's changing load falls on all RTTs alike. One host shows the round
// trips on the critical path plainly; at 20 hosts on 2 cores Ansible is
// CPU-bound, and a link's waits hide behind its CPU work.
// Each tool gets one untimed warm-up run per RTT (host keys recorded, pcc's
// playbook compiled, Ansible's control masters up, as on any run after a
// user's first); before every first run each tool's files and pcc's fact
// memory are wiped.
import { rmSync } from 'node:fs';
import {
  ansibleRun,
  describeLoad,
  fmt,
  isMain,
  machine,
  median,
  option,
  pccRun,
  runAsScript,
  sameFiles,
  sampleLoad,
  benchHosts,
  type Setup,
  today,
  versionOf,
  wipeForFirstRun,
  type ProxyStats,
  type Report,
} from '../lib/hosts.js';

interface Row {
  n: number;
  rtt: number;
  scenario: 'first run' | 're-run';
  pcc: number;
  pccRoundTrips: number;
  pccWire: ProxyStats;
  ansible?: number;
  ansibleWire?: ProxyStats;
}

interface Samples {
  pcc: number[];
  ansible: number[];
  rt: number;
  pw: ProxyStats[];
  aw: ProxyStats[];
}

const samples = (): Samples => ({ pcc: [], ansible: [], rt: 0, pw: [], aw: [] });

export async function latencyBench(argv: string[]): Promise<Report> {
  const rtts = option(argv, 'rtts', '0,20,80').split(',').map(Number);
  const sizes = option(argv, 'hosts', '1,20').split(',').map(Number);
  const reps = Number(option(argv, 'reps', '3'));
  const ansibleRepsLarge = Number(option(argv, 'ansible-reps', '2'));
  const skipAnsible = argv.includes('--no-ansible');
  const load = sampleLoad();
  const rows: Row[] = [];
  const lateness: string[] = [];
  for (const n of sizes) {
    // Up to 5 hosts Ansible takes seconds a run, so it gets pcc's reps.
    const ansibleReps = skipAnsible ? 0 : n <= 5 ? reps : ansibleRepsLarge;
    // One fleet per RTT, all up at once, so that every rep runs every RTT in
    // turn (in alternating order) and a change in the machine's load falls on
    // all of them alike.
    const setups: Setup[] = [];
    try {
      for (const [i, rtt] of rtts.entries()) setups.push(await benchHosts(n, { prefix: `l${i}h`, oneWayMs: rtt / 2 }));
      const first = rtts.map(samples);
      const again = rtts.map(samples);
      for (const s of setups) {
        await pccRun(s);
        if (!skipAnsible) await ansibleRun(s);
        await s.proxy!.stats();
      }
      for (let i = 0; i < Math.max(reps, ansibleReps); i++) {
        const order = rtts.map((_, k) => k);
        if (i % 2 === 1) order.reverse();
        for (const k of order) {
          const s = setups[k]!;
          if (i < reps) {
            wipeForFirstRun(s);
            const a = await pccRun(s);
            first[k]!.pcc.push(a.seconds);
            first[k]!.rt = a.roundTrips;
            first[k]!.pw.push(await s.proxy!.stats());
            const b = await pccRun(s);
            again[k]!.pcc.push(b.seconds);
            again[k]!.rt = b.roundTrips;
            again[k]!.pw.push(await s.proxy!.stats());
          }
        }
        for (const k of order) {
          const s = setups[k]!;
          if (i < ansibleReps) {
            rmSync(s.ansibleRoot, { recursive: true, force: true });
            first[k]!.ansible.push((await ansibleRun(s)).seconds);
            first[k]!.aw.push(await s.proxy!.stats());
            again[k]!.ansible.push((await ansibleRun(s)).seconds);
            again[k]!.aw.push(await s.proxy!.stats());
          }
        }
        process.stderr.write(`latency: ${n} hosts, rep ${i + 1} done\n`);
      }
      for (const [k, rtt] of rtts.entries()) {
        if (!skipAnsible) sameFiles(setups[k]!, setups[k]!.ansibleRoot, 'Ansible');
        const all = [...first[k]!.pw, ...again[k]!.pw, ...first[k]!.aw, ...again[k]!.aw];
        lateness.push(`${n} hosts at ${rtt} ms: ${fmt(Math.max(...all.map((w) => w.lateMsMean)), 1)} ms mean, ${fmt(Math.max(...all.map((w) => w.lateMsMax)), 0)} ms at most`);
        for (const [scenario, m] of [
          ['first run', first[k]!],
          ['re-run', again[k]!],
        ] as const) {
          rows.push({
            n,
            rtt,
            scenario,
            pcc: median(m.pcc),
            pccRoundTrips: m.rt,
            pccWire: m.pw[m.pw.length - 1]!,
            ansible: skipAnsible ? undefined : median(m.ansible),
            ansibleWire: skipAnsible ? undefined : m.aw[m.aw.length - 1],
          });
        }
      }
    } finally {
      for (const s of setups) await s.stop();
    }
  }
  const loadSeen = load.stop();

  const base = (r: Row) => rows.find((x) => x.n === r.n && x.rtt === 0 && x.scenario === r.scenario);
  const perHost = (r: Row, w: ProxyStats | undefined, key: 'turns' | 'connections') => (w ? fmt(w[key] / r.n, key === 'turns' ? 0 : 1) : '-');
  const critical = (r: Row, tool: 'pcc' | 'ansible') => {
    const b = base(r);
    if (!b || r.rtt === 0 || r[tool] === undefined || b[tool] === undefined) return '-';
    return `${fmt(r[tool]! - b[tool]!)} s / ${fmt((r[tool]! - b[tool]!) / (r.rtt / 1000), 0)}`;
  };
  const table = [
    '| hosts | RTT ms | run | Ansible s | pcc s | Ansible / pcc | pcc round trips (session) | wire turns per host: Ansible / pcc | new connections per host: Ansible / pcc | added over 0 ms, s / round trips: Ansible | same: pcc |',
    '|---:|---:|---|---:|---:|---:|---:|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.n} | ${r.rtt} | ${r.scenario} | ${fmt(r.ansible)} | ${fmt(r.pcc)} | ${r.ansible ? fmt(r.ansible / r.pcc, 1) : '-'} | ${r.pccRoundTrips} | ${perHost(r, r.ansibleWire, 'turns')} / ${perHost(r, r.pccWire, 'turns')} | ${perHost(r, r.ansibleWire, 'connections')} / ${perHost(r, r.pccWire, 'connections')} | ${critical(r, 'ansible')} | ${critical(r, 'pcc')} |`,
    ),
  ];
  const text = [
    `Links with latency: ${sizes.join(' and ')} hosts, each through its own delay-proxy port, every RTT in each rep; pcc ${reps} reps, Ansible ${skipAnsible ? 'left out' : `${reps} reps up to 5 hosts, ${ansibleRepsLarge} above`}, medians; ${today()}, ${machine()}${skipAnsible ? '' : `, ${versionOf('ansible-playbook')}`}`,
    `${describeLoad(loadSeen)}. The proxy's timers forwarded chunks late by at most ${lateness.join('; ')}.`,
    '',
    ...table,
  ].join('\n');

  const summary = rows
    .filter((r) => r.scenario === 'first run')
    .map((r) => ({
      part: 'latency',
      measure: `${r.n} hosts, RTT ${r.rtt} ms, first run: pcc s (Ansible s)`,
      value: `${fmt(r.pcc)} (${fmt(r.ansible)})`,
    }));
  return { title: 'latency', text, summary };
}

if (isMain(import.meta.url)) await runAsScript(latencyBench);
