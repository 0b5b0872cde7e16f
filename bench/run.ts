// `npm run bench`: the whole benchmark set, one part after another, each
// part's own tables and then one summary table of the headline figures and
// their targets.
//   npm run bench [-- --only engine,latency,scale,startup] [--quick] [--reps N]
//     [--no-ansible] [--no-pyinfra]
// --quick: fewer hosts, sizes and reps (about 3 minutes rather than 30); its
// figures are a smoke test, not the ones to quote.
// The parts run on their own too: bench/engine/run.ts, bench/net/latency.ts,
// bench/engine/scale.ts, bench/startup.ts (each takes the flags in its header).
// Not in this set, since they need local (nspawn) hosts, swarm or a GPU:
// bench/local-boot.mjs, bench/build-noop.mjs, bench/jobs/run.ts, bench/gpu/.
import { engineBench } from './engine/run.js';
import { scaleBench } from './engine/scale.js';
import { describeLoad, option, sampleLoad, summaryTable, today, machine, type Report, type SummaryRow } from './lib/hosts.js';
import { latencyBench } from './net/latency.js';
import { startupBench } from './startup.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const parts = option(argv, 'only', 'engine,latency,scale,startup').split(',');
// The first of a repeated flag wins (option()), so the user's come first.
const pass = (quickArgs: string[]): string[] => [
  ...(argv.includes('--reps') ? ['--reps', option(argv, 'reps', '3')] : []),
  ...['--no-ansible', '--no-pyinfra'].filter((f) => argv.includes(f)),
  ...(quick ? quickArgs : []),
];
const benches: Record<string, () => Promise<Report>> = {
  engine: () => engineBench(pass(['--sizes', '5', '--reps', '1', '--no-pyinfra'])),
  latency: () => latencyBench(pass(['--hosts', '5', '--rtts', '0,80', '--reps', '1'])),
  scale: () => scaleBench(pass(['--sizes', '20,100', '--reps', '1', '--ansible-sizes', ''])),
  startup: () => startupBench(pass(['--reps', '3'])),
};
const unknown = parts.filter((p) => !(p in benches));
if (unknown.length) {
  console.error(`unknown part ${unknown.join(', ')}: pick from ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

const load = sampleLoad();
const summary: SummaryRow[] = [];
let failed = false;
for (const part of parts) {
  process.stderr.write(`bench: ${part}\n`);
  try {
    const report = await benches[part]!();
    console.log(`\n## ${report.title}\n\n${report.text}`);
    summary.push(...report.summary);
  } catch (err) {
    failed = true;
    console.error(`bench: ${part} failed:`, err);
    summary.push({ part, measure: 'failed', value: '-' });
  }
}
console.log(`\n## summary\n\n${quick ? '--quick, ' : ''}${today()}, ${machine()}; ${describeLoad(load.stop())}\n\n${summaryTable(summary)}`);
if (failed) process.exitCode = 1;
