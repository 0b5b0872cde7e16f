// Links with latency: the engine benchmark's 11-step compute-host playbook on
// N sshd hosts (20 by default), each reached through its own port on the delay
// proxy (bench/net/delay-proxy.mjs), at round-trip times of 0, 20 and 80 ms.
// pcc and Ansible (pipelining, ControlPersist, forks=N, no fact gathering)
// both connect through the proxy.
// Run: npm run build && npx tsx bench/net/latency.ts [--rtts 0,20,80] [--hosts 20]
//   [--reps 3] [--ansible-reps 1] [--no-ansible]
//
// Per run it reports seconds, pcc's own round trips on its one shell session
// per host, and what the proxy saw on the wire per host: new TCP connections
// and turns (a chunk from the sshd that answers data from the client, so
// every request/response exchange counts, the SSH handshake's included). The
// seconds a link adds over the 0 ms proxy, divided by the RTT, is the number
// of round trips on the run's critical path.
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
  today,
  versionOf,
  wipeForFirstRun,
  withHosts,
  type ProxyStats,
  type Report,
} from '../lib/hosts.js';

interface Row {
  rtt: number;
  scenario: 'first run' | 're-run';
  pcc: number;
  pccRoundTrips: number;
  pccWire: ProxyStats;
  ansible?: number;
  ansibleWire?: ProxyStats;
}

export async function latencyBench(argv: string[]): Promise<Report> {
  const rtts = option(argv, 'rtts', '0,20,80').split(',').map(Number);
  const n = Number(option(argv, 'hosts', '20'));
  const reps = Number(option(argv, 'reps', '3'));
  const ansibleReps = Number(option(argv, 'ansible-reps', '1'));
  const skipAnsible = argv.includes('--no-ansible');
  const load = sampleLoad();
  const rows: Row[] = [];
  const lateness: string[] = [];
  for (const rtt of rtts) {
    await withHosts(n, { prefix: 'l', oneWayMs: rtt / 2 }, async (s) => {
      const proxy = s.proxy!;
      await pccRun(s);
      if (!skipAnsible) await ansibleRun(s);
      await proxy.stats();
      const first = { pcc: [] as number[], ansible: [] as number[], rt: 0, pw: [] as ProxyStats[], aw: [] as ProxyStats[] };
      const again = { pcc: [] as number[], ansible: [] as number[], rt: 0, pw: [] as ProxyStats[], aw: [] as ProxyStats[] };
      for (let i = 0; i < Math.max(reps, skipAnsible ? 0 : ansibleReps); i++) {
        if (i < reps) {
          wipeForFirstRun(s);
          const a = await pccRun(s);
          first.pcc.push(a.seconds);
          first.rt = a.roundTrips;
          first.pw.push(await proxy.stats());
          const b = await pccRun(s);
          again.pcc.push(b.seconds);
          again.rt = b.roundTrips;
          again.pw.push(await proxy.stats());
        }
        if (!skipAnsible && i < ansibleReps) {
          rmSync(s.ansibleRoot, { recursive: true, force: true });
          first.ansible.push((await ansibleRun(s)).seconds);
          first.aw.push(await proxy.stats());
          again.ansible.push((await ansibleRun(s)).seconds);
          again.aw.push(await proxy.stats());
        }
      }
      if (!skipAnsible) sameFiles(s, s.ansibleRoot, 'Ansible');
      const all = [...first.pw, ...again.pw, ...first.aw, ...again.aw];
      lateness.push(`${rtt} ms: ${fmt(Math.max(...all.map((w) => w.lateMsMean)), 1)} ms mean, ${fmt(Math.max(...all.map((w) => w.lateMsMax)), 0)} ms at most`);
      for (const [scenario, m] of [['first run', first], ['re-run', again]] as const) {
        rows.push({
          rtt,
          scenario,
          pcc: median(m.pcc),
          pccRoundTrips: m.rt,
          pccWire: m.pw[m.pw.length - 1]!,
          ansible: skipAnsible ? undefined : median(m.ansible),
          ansibleWire: skipAnsible ? undefined : m.aw[m.aw.length - 1],
        });
      }
      process.stderr.write(`latency: RTT ${rtt} ms done\n`);
    });
  }
  const loadSeen = load.stop();

  const base = (r: Row) => rows.find((x) => x.rtt === 0 && x.scenario === r.scenario);
  const perHost = (w: ProxyStats | undefined, key: 'turns' | 'connections') => (w ? fmt(w[key] / n, key === 'turns' ? 0 : 1) : '-');
  const critical = (r: Row, tool: 'pcc' | 'ansible') => {
    const b = base(r);
    if (!b || r.rtt === 0 || r[tool] === undefined || b[tool] === undefined) return '-';
    return `${fmt(r[tool]! - b[tool]!)} s / ${fmt((r[tool]! - b[tool]!) / (r.rtt / 1000), 0)}`;
  };
  const table = [
    '| RTT ms | run | Ansible s | pcc s | Ansible / pcc | pcc round trips (session) | wire turns per host: Ansible / pcc | new connections per host: Ansible / pcc | added over 0 ms, s / round trips: Ansible | same: pcc |',
    '|---:|---|---:|---:|---:|---:|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.rtt} | ${r.scenario} | ${fmt(r.ansible)} | ${fmt(r.pcc)} | ${r.ansible ? fmt(r.ansible / r.pcc, 1) : '-'} | ${r.pccRoundTrips} | ${perHost(r.ansibleWire, 'turns')} / ${perHost(r.pccWire, 'turns')} | ${perHost(r.ansibleWire, 'connections')} / ${perHost(r.pccWire, 'connections')} | ${critical(r, 'ansible')} | ${critical(r, 'pcc')} |`,
    ),
  ];
  const text = [
    `Links with latency: ${n} hosts, each through its own delay-proxy port; pcc ${reps} reps, Ansible ${skipAnsible ? 'left out' : `${ansibleReps} rep${ansibleReps === 1 ? '' : 's'}`}, medians; ${today()}, ${machine()}${skipAnsible ? '' : `, ${versionOf('ansible-playbook')}`}`,
    `${describeLoad(loadSeen)}. The proxy's timers forwarded chunks late by at most ${lateness.join('; ')}.`,
    '',
    ...table,
  ].join('\n');

  const summary = rows
    .filter((r) => r.scenario === 'first run')
    .map((r) => ({
      part: 'latency',
      measure: `${n} hosts, RTT ${r.rtt} ms, first run: pcc s (Ansible s)`,
      value: `${fmt(r.pcc)} (${fmt(r.ansible)})`,
    }));
  return { title: 'latency', text, summary };
}

if (isMain(import.meta.url)) await runAsScript(latencyBench);
