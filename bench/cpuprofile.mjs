// Where a pcc process spends its CPU, from a `node --cpu-prof` profile: self
// time per npm package (nm:NAME), bundle chunk (bundle:FILE), node internal
// module, or native function, largest first.
//   node --cpu-prof --cpu-prof-dir /tmp/prof bin/pcc.js hosts
//   node bench/cpuprofile.mjs /tmp/prof/*.cpuprofile [N]
// The bundle's chunk names change with every build; the comments in a chunk
// (`// dist/src/...`, `// node_modules/...`) say what went into it.
import { readFileSync } from 'node:fs';

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const ms = profile.timeDeltas[i] / 1000;
  total += ms;
  const frame = nodes.get(id).callFrame;
  const where = (frame.url || `(${frame.functionName || 'native'})`)
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, 'nm:$1')
    .replace(/.*dist\/bundle\//, 'bundle:');
  self.set(where, (self.get(where) ?? 0) + ms);
});
console.log(`${total.toFixed(1).padStart(7)} ms sampled`);
for (const [where, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${ms.toFixed(1).padStart(7)} ${where}`);
}
