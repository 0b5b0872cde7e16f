#!/usr/bin/env node
import { readFileSync } from 'node:fs';

// A reader that goes away (`pcc status | head -1`) ends pcc quietly with 0, as
// `git log | head` does: the rest of the output was not wanted.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

// `pcc --help` is printed from the text yargs wrote at build time (dist/help.txt):
// loading yargs alone costs more than the whole start-up budget.
const args = process.argv.slice(2);
let help;
if ((args.length === 1 && (args[0] === '--help' || args[0] === '-h')) && !process.env.PCC_NO_HELP_CACHE) {
  try {
    help = readFileSync(new URL('../dist/help.txt', import.meta.url), 'utf8');
  } catch {
    // not built with the cache: fall through to yargs
  }
}
if (help !== undefined) {
  process.stdout.write(help);
} else {
  const { main } = await import('../dist/bundle/src/cli/main.js');
  process.exitCode = await main(args);
}
