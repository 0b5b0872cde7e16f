#!/usr/bin/env node
// Boots N local (systemd-nspawn) hosts from the cached base, saves, resumes and
// destroys them, and prints the times. Issue 3's targets: boot 10 in <= 15 s,
// destroy 10 in <= 10 s. Run as root: node bench/local-boot.mjs [count]
// Uses dist/ when built (npm run build), else the TypeScript sources via tsx.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const count = Number(process.argv[2] ?? 10);
const subnet = process.env.BENCH_SUBNET ?? '10.213.250.0/24';

let src = path.join(repo, 'dist/src');
let ext = '.js';
if (!existsSync(path.join(src, 'providers/local/index.js'))) {
  const { register } = await import('tsx/esm/api');
  register();
  src = path.join(repo, 'src');
  ext = '.ts';
}
const load = (mod) => import(path.join(src, mod + ext));
const { openProject, expandHome } = await load('core/project');
const { loadSettings } = await load('settings/load');
const { StateStore } = await load('state/store');
const { localProvider } = await load('providers/local/index');
const { ensureBase } = await load('providers/local/base');

const dir = mkdtempSync(path.join(tmpdir(), 'pcc-bench-local-'));
mkdirSync(path.join(dir, 'project'));
const project = openProject({ project: path.join(dir, 'project') });
const settings = loadSettings(project, { ...process.env, LOCAL_SUBNET: subnet });
const quiet = { host() {}, note() {}, warn: (m) => console.error(`warning: ${m}`) };
const ctx = { project, settings, state: new StateStore(project), progress: quiet, dry: false };

const rows = [];
async function timed(step, target, fn, hosts = count) {
  const t = performance.now();
  const result = await fn();
  rows.push({ step, hosts, seconds: (performance.now() - t) / 1000, target });
  return result;
}

try {
  const cacheDir = expandHome(settings.values.LOCAL_BASE_CACHE, project.home);
  await timed('base (cached after the first run)', undefined, () => ensureBase({ cacheDir, progress: quiet }), '-');
  const hosts = await timed('boot (acquire, until sshd answers)', 15, () =>
    localProvider.acquire({ type: 'cpu', count, wait: true }, ctx),
  );
  if (hosts.length !== count) throw new Error(`expected ${count} hosts, got ${hosts.length}`);
  await timed('save (power off)', undefined, () => localProvider.save({}, ctx));
  await timed('resume (acquire saved)', undefined, () => localProvider.acquire({ type: 'cpu', count, wait: true }, ctx));
  await timed('destroy', 10, () => localProvider.destroy(ctx));
} catch (err) {
  await localProvider.destroy(ctx).catch(() => undefined);
  throw err;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const line = (cells) => `| ${cells.join(' | ')} |`;
console.log(line(['step', 'hosts', 'seconds', 'target', 'ok']));
console.log(line(['---', '---:', '---:', '---:', '---']));
for (const r of rows) {
  const ok = r.target === undefined ? '' : r.seconds <= r.target ? 'yes' : 'NO';
  console.log(line([r.step, r.hosts, r.seconds.toFixed(2), r.target === undefined ? '' : `<= ${r.target} s`, ok]));
}
if (rows.some((r) => r.target !== undefined && r.seconds > r.target)) process.exitCode = 1;
