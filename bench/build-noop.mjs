#!/usr/bin/env node
// A no-op `pcc build` of 10 folders, measured as the user runs it: the CLI
// (node bin/pcc.js build --project DIR) after one real build. Issue 5's
// target: <= 1 s. Starts its own docker-registry and dockerd (loopback, temp
// dirs) and stops them by PID. Run as root after `npm run build`:
//   node bench/build-noop.mjs [runs]
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 9);
const cli = path.join(repo, 'bin/pcc.js');
const TARGET_MS = 1000;

if (!existsSync(path.join(repo, 'dist/src/cli/main.js'))) {
  console.error('bench: dist/ is missing; run npm run build first');
  process.exit(1);
}

// The fixtures are TypeScript, shared with the tests.
const { register } = await import('tsx/esm/api');
register();
const { startRegistry } = await import(path.join(repo, 'test/fixtures/registry.ts'));
const { startDockerd } = await import(path.join(repo, 'test/fixtures/dockerd.ts'));

const [registry, dockerd] = await Promise.all([startRegistry(), startDockerd()]);
const dir = mkdtempSync(path.join(tmpdir(), 'pcc-bench-build-'));
const env = { ...dockerd.env, REGISTRY_HOST: registry.host };

function folder(name, dockerfile, files) {
  const d = path.join(dir, 'docker', name);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'Dockerfile'), dockerfile);
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    if (content === null) copyFileSync('/bin/busybox', path.join(d, f));
    else writeFileSync(path.join(d, f), content);
  }
}

// 10 folders: two scratch bases, and images built FROM them, each with a few files.
folder('100-base', 'FROM scratch\nCOPY busybox /bin/busybox\n', { busybox: null, '.dockerignore': '*.md\n', 'README.md': 'x' });
folder('150-tools', 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY etc/ /etc/\n', { busybox: null, 'etc/motd': 'hello\n' });
for (let i = 2; i < 10; i++) {
  const base = i % 2 === 0 ? 'base' : 'tools';
  const files = Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`file${k}.txt`, `${i}-${k}\n`]));
  folder(`${i}00-app${i}`, `ARG REGISTRY_HOST\nFROM \${REGISTRY_HOST}/${base}\nCOPY . /app/\n`, files);
}

function pcc(args) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  return { ms: performance.now() - t, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
try {
  const first = pcc(['build', '--project', dir]);
  if (first.code !== 0 || !first.stdout.includes('10 built')) {
    throw new Error(`the first build did not build all 10:\n${first.stdout}\n${first.stderr}`);
  }
  rows.push({ step: 'first build (10 images)', times: [first.ms] });

  const help = [];
  const noop = [];
  for (let i = 0; i < runs; i++) {
    help.push(pcc(['--help']).ms);
    const r = pcc(['build', '--project', dir]);
    if (r.code !== 0 || !r.stdout.includes('10 skipped')) throw new Error(`a no-op run did not skip all 10:\n${r.stdout}\n${r.stderr}`);
    noop.push(r.ms);
  }
  rows.push({ step: 'node bin/pcc.js --help (start-up floor)', times: help });
  rows.push({ step: 'no-op pcc build, 10 folders', times: noop, target: TARGET_MS });
} finally {
  await Promise.all([dockerd.stop(), registry.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (ms) => `${(ms / 1000).toFixed(3)} s`;
const table = [
  ['step', 'runs', 'median', 'min', 'max', 'target', 'ok'],
  ...rows.map((r) => [
    r.step,
    String(r.times.length),
    fmt(median(r.times)),
    fmt(Math.min(...r.times)),
    fmt(Math.max(...r.times)),
    r.target ? `<= ${fmt(r.target)}` : '',
    r.target ? (median(r.times) <= r.target ? 'yes' : 'NO') : '',
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
const noop = rows.at(-1);
process.exitCode = median(noop.times) <= TARGET_MS ? 0 : 1;
