// pcc job against its anchors, on real local hosts (controller init + local1,
// local2), not part of CI:
// - submit to first task running: from starting `pcc job run` until swarm
//   reports a task running;
// - 100 tasks of `true` (the container start is the task): as one pcc job on
//   the swarm, as 100 `pcc exec` calls in a loop, and as GNU parallel
//   --sshlogin over the ssh aliases (4 at once per host), each task a
//   `docker run --rm` of the same pinned image.
// Run as root after `npm run build`: npx tsx bench/jobs/run.ts [--reps 3]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openProject } from '../../src/core/project.js';
import { listJobs, withManager } from '../../src/jobs/manager.js';
import { loadSettings } from '../../src/settings/load.js';
import { StateStore } from '../../src/state/store.js';
import { TEST_BASE_CACHE } from '../../test/fixtures/local-hosts.js';
import { formSwarm } from '../../test/fixtures/swarm.js';

const repo = path.resolve(import.meta.dirname, '../..');
const reps = Number(process.argv[process.argv.indexOf('--reps') + 1] || 3);
const subnet = process.env.BENCH_SUBNET ?? '10.213.251.0/24';
const TASKS = 100;

const dir = mkdtempSync(path.join(tmpdir(), 'pcc-bench-jobs-'));
const projectDir = path.join(dir, 'project');
const home = path.join(dir, 'home');
mkdirSync(path.join(projectDir, 'config'), { recursive: true });
mkdirSync(home);
cpSync(path.join(repo, 'docker/999-mybusybox'), path.join(projectDir, 'docker/999-mybusybox'), { recursive: true });
writeFileSync(path.join(projectDir, 'config/local.env'), `LOCAL_SUBNET=${subnet}\nLOCAL_BASE_CACHE=${TEST_BASE_CACHE}\n`);
const env = { ...process.env, HOME: home };
const pcc = (...args: string[]) => {
  const r = spawnSync('node', [path.join(repo, 'bin/pcc.js'), '--project', projectDir, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pcc ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
};
const seconds = (t: number) => (performance.now() - t) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  pcc('up', '--provider', 'local');
  pcc('acquire', 'local', '--count', '2');
  pcc('setup', 'all');
  await formSwarm({ projectDir, home });
  const project = openProject({ project: projectDir, home });
  const ctx = { project, settings: loadSettings(project), state: new StateStore(project) };
  const state = await ctx.state.read();
  const image = `${state.hosts.init!.overlayAddress}:5000/mybusybox@${state.images.mybusybox!.digest}`;
  // Every host has the image before anything is timed.
  pcc('exec', 'local1:local2', '--', `docker pull -q ${image}`);

  const firstRunning: number[] = [];
  const swarm: number[] = [];
  const execLoop: number[] = [];
  const gnuParallel: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    let t = performance.now();
    pcc('job', 'run', 'mybusybox', '--name', `first${rep}`, '--', 'sleep', '3');
    await withManager(ctx, async (m) => {
      for (;;) {
        const [v] = await listJobs(m, `first${rep}`);
        if (v!.counts.running + v!.counts.done > 0) break;
        await sleep(100);
      }
    });
    firstRunning.push(seconds(t));

    t = performance.now();
    pcc('job', 'run', 'mybusybox', '--name', `many${rep}`, '--replicas', String(TASKS), '--wait', '--', 'true');
    swarm.push(seconds(t));

    console.error(`rep ${rep + 1}: first task running ${firstRunning.at(-1)!.toFixed(2)} s, pcc job ${swarm.at(-1)!.toFixed(2)} s`);

    // OpenSSH reads ~/.ssh/config from the passwd home, not $HOME: name pcc's config.
    t = performance.now();
    execFileSync(
      'parallel',
      ['--ssh', `ssh -F ${path.join(home, '.ssh/config')}`, '--sshlogin', '4/local1,4/local2', `docker run --rm ${image} true`, ':::', ...Array.from({ length: TASKS }, (_, i) => String(i))],
      { env, stdio: 'ignore' },
    );
    gnuParallel.push(seconds(t));
    console.error(`rep ${rep + 1}: GNU parallel ${gnuParallel.at(-1)!.toFixed(2)} s`);

    t = performance.now();
    for (let i = 0; i < TASKS; i++) pcc('exec', `local${1 + (i % 2)}`, '--', `docker run --rm ${image} true`);
    execLoop.push(seconds(t));
    console.error(`rep ${rep + 1}: pcc exec loop ${execLoop.at(-1)!.toFixed(2)} s`);
    pcc('job', 'rm', `first${rep}`, '--yes');
    pcc('job', 'rm', `many${rep}`, '--yes');
  }

  const anchor = median(swarm);
  const row = (what: string, xs: number[]) => {
    const s = median(xs);
    return `| ${what} | ${s.toFixed(2)} | ${(TASKS / s).toFixed(1)} | ${((s / TASKS) * 1000).toFixed(0)} | ${(s / anchor).toFixed(2)} |`;
  };
  console.log(`\npcc job benchmark: ${reps} reps, medians, ${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 local hosts on this machine\n`);
  console.log(`Submit to first task running (pcc job run, 1 task): ${median(firstRunning).toFixed(2)} s (runs: ${firstRunning.map((x) => x.toFixed(2)).join(', ')})\n`);
  console.log(`| ${TASKS} tasks of \`true\` | s | tasks/s | ms per task | / pcc job |`);
  console.log('|---|---:|---:|---:|---:|');
  console.log(row('pcc job run --wait (swarm, all at once)', swarm));
  console.log(row('pcc exec in a loop (one at a time)', execLoop));
  console.log(row('GNU parallel --sshlogin 4/local1,4/local2', gnuParallel));
} finally {
  spawnSync('node', [path.join(repo, 'bin/pcc.js'), '--project', projectDir, 'destroy', 'local', '--yes'], { env, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
