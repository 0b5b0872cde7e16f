// Where a one-host pcc command spends its time before and around the SSH
// work, as a ladder of real commands on one real sshd host; each rung adds one
// phase, so the differences are the phases' costs:
//   node      `node -e 0`
//   modules   + loading the bundled CLI (yargs, zod, the command table)
//   settings  + `pcc hosts`: settings, state and a table (no SSH)
//   connect   + `pcc exec h -- true`: ssh2, the handshake, one command
//   plan      + `pcc run --dry`: the playbook loaded (cached), facts read, planned
//   apply     + `pcc run`: the changes applied (first run, nothing remembered)
// Anchors: `ansible h -m command -a true` and `ansible-playbook` on the same
// host. Run `npm run build` first; `npx tsx bench/startup.ts [--reps 7]`.
// For a per-function view: `node --cpu-prof bin/pcc.js hosts` and open the
// .cpuprofile in Chrome's DevTools.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { startSshdHosts } from '../test/fixtures/sshd.js';

const repo = path.resolve(import.meta.dirname, '..');
const bin = path.join(repo, 'bin/pcc.js');
const repsAt = process.argv.indexOf('--reps');
const reps = repsAt > 0 ? Number(process.argv[repsAt + 1]) : 7;

const fleet = await startSshdHosts(1, { prefix: 's' });
const dir = mkdtempSync(path.join(tmpdir(), 'pcc-startup-'));
try {
  const project = path.join(dir, 'project');
  const root = path.join(dir, 'root');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  writeFileSync(path.join(project, 'config/vars.env'), `BENCH_ROOT=${root}\n`);
  const env = { ...process.env, HOME: path.join(dir, 'home') };
  const h = fleet.hosts[0]!;
  execFileSync('node', [bin, 'hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key, '--project', project], { env });
  const playbook = path.join(repo, 'bench/engine/compute-host.pcc.ts');
  const fresh = () => {
    rmSync(root, { recursive: true, force: true });
    rmSync(path.join(project, '.pcc/cache/facts'), { recursive: true, force: true });
  };

  const inventory = path.join(dir, 'inventory.ini');
  writeFileSync(inventory, `${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${fleet.key} bench_root=${dir}/ansible-root\n`);
  const ansibleEnv = {
    ...env,
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_SSH_ARGS: `-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=${dir}/cm-%C -o UserKnownHostsFile=/dev/null`,
    ANSIBLE_HOME: path.join(dir, 'ansible-home'),
    ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'),
  };

  const time = (argv: string[], e: NodeJS.ProcessEnv, before = () => {}) => {
    const run = () => {
      before();
      const t = process.hrtime.bigint();
      const r = spawnSync(argv[0]!, argv.slice(1), { env: e, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    run(); // warm: host key recorded, playbook compiled, page cache
    const xs = Array.from({ length: reps }, run).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)]!;
  };

  const rungs: [string, string, number][] = [
    ['node', 'node -e 0', time(['node', '-e', '0'], env)],
    ['modules', 'import the bundled CLI', time(['node', '--input-type=module', '-e', `await import(${JSON.stringify(path.join(repo, 'dist/bundle/src/cli/main.js'))})`], env)],
    ['settings', 'pcc hosts', time(['node', bin, 'hosts', '--project', project], env)],
    ['connect', 'pcc exec h -- true', time(['node', bin, 'exec', h.name, '--project', project, '--', 'true'], env)],
    ['plan', 'pcc run --dry (first run)', time(['node', bin, 'run', playbook, h.name, '--dry', '--project', project], env, fresh)],
    ['apply', 'pcc run (first run)', time(['node', bin, 'run', playbook, h.name, '--project', project], env, fresh)],
  ];
  const ansibleExec = time(['ansible', h.name, '-i', inventory, '-m', 'command', '-a', 'true'], ansibleEnv);
  const ansibleRun = time(['ansible-playbook', '-i', inventory, path.join(repo, 'bench/engine/compute-host.ansible.yml')], ansibleEnv, () =>
    rmSync(path.join(dir, 'ansible-root'), { recursive: true, force: true }),
  );

  console.log(`Start-up on one sshd host: ${reps} reps, medians, ${new Date().toISOString().slice(0, 10)}, ${process.version}, ${cpus().length} cores\n`);
  console.log('| phase | command | total ms | phase ms |');
  console.log('|---|---|---:|---:|');
  let prev = 0;
  for (const [phase, cmd, ms] of rungs) {
    console.log(`| ${phase} | ${cmd} | ${ms.toFixed(0)} | ${(ms - prev).toFixed(0)} |`);
    prev = ms;
  }
  const exec = rungs[3]![2];
  const run = rungs[5]![2];
  console.log(`\nAnchors: ansible -m command ${ansibleExec.toFixed(0)} ms (Ansible / pcc exec ${(ansibleExec / exec).toFixed(1)}); ansible-playbook ${ansibleRun.toFixed(0)} ms (Ansible / pcc run ${(ansibleRun / run).toFixed(1)})`);
  console.log(`Targets: pcc run and pcc exec ≤ 300 ms (${run.toFixed(0)} / ${exec.toFixed(0)}), pcc hosts ≤ 120 ms (${rungs[2]![2].toFixed(0)})`);
} finally {
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
}
