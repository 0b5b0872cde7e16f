// Where a one-host pcc command spends its time before and around the SSH
// work, as a ladder of real commands on one real sshd host; each rung adds one
// phase, so the differences are the phases' costs:
//   node      `node -e 0`
//   modules   + loading the bundled CLI (yargs, zod, the command table)
//   state     + `pcc hosts`: the project opened, its state read, a table (no
//             settings: the table needs none; no SSH)
//   settings  + `pcc hosts --json`: the settings loaded and each host's vars
//   status    `pcc status` (beside connect, on settings): the state's providers
//             asked for their hosts; here only static hosts, no cloud provider
//   connect   + `pcc exec h -- true`: ssh2, the handshake, one command
//   plan      + `pcc run --dry`: the playbook loaded (cached), facts read, planned
//   apply     + `pcc run`: the changes applied (first run, nothing remembered)
// The breakdown line gives the phases in the order a command meets them
// (node, modules, settings, state, connect, plan, apply), each the difference
// between two rungs; the 1-minute load average is sampled between runs.
// Anchors: `ansible h -m command -a true` and `ansible-playbook` on the same
// host, and pyinfra's `exec -- true` and the pyinfra deploy (pcc's own
// `pcc inventory --pyinfra` export as its inventory). Run `npm run build` first; `npx tsx bench/startup.ts [--reps 7] [--no-anchors]`.
// For a per-function view: `node --cpu-prof bin/pcc.js hosts` and open the
// .cpuprofile in Chrome's DevTools, or `node bench/cpuprofile.mjs FILE` for
// the self time per package and chunk.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startSshdHosts } from '../test/fixtures/sshd.js';

const repo = path.resolve(import.meta.dirname, '..');
const bin = path.join(repo, 'bin/pcc.js');
const repsAt = process.argv.indexOf('--reps');
const reps = repsAt > 0 ? Number(process.argv[repsAt + 1]) : 7;
// --no-anchors: pcc's rungs alone (the anchors take most of the time).
const anchors = !process.argv.includes('--no-anchors');

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadBefore = load();
const loadSamples: number[] = [];
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
      loadSamples.push(loadavg()[0]!);
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

  // [phase, command, median ms, the rung it adds to]
  const rungs: [string, string, number, string | undefined][] = [
    ['node', 'node -e 0', time(['node', '-e', '0'], env), undefined],
    ['modules', 'import the bundled CLI', time(['node', '--input-type=module', '-e', `await import(${JSON.stringify(path.join(repo, 'dist/bundle/src/cli/main.js'))})`], env), 'node'],
    ['state', 'pcc hosts', time(['node', bin, 'hosts', '--project', project], env), 'modules'],
    ['settings', 'pcc hosts --json', time(['node', bin, 'hosts', '--json', '--project', project], env), 'state'],
    ['status', 'pcc status (static hosts only)', time(['node', bin, 'status', '--project', project], env), 'settings'],
    ['connect', 'pcc exec h -- true', time(['node', bin, 'exec', h.name, '--project', project, '--', 'true'], env), 'settings'],
    ['plan', 'pcc run --dry (first run)', time(['node', bin, 'run', playbook, h.name, '--dry', '--project', project], env, fresh), 'connect'],
    ['apply', 'pcc run (first run)', time(['node', bin, 'run', playbook, h.name, '--project', project], env, fresh), 'plan'],
  ];
  const ms = (phase: string) => rungs.find((x) => x[0] === phase)![2];
  const measureAnchors = () => {
    const ansibleExec = time(['ansible', h.name, '-i', inventory, '-m', 'command', '-a', 'true'], ansibleEnv);
    const ansibleRun = time(['ansible-playbook', '-i', inventory, path.join(repo, 'bench/engine/compute-host.ansible.yml')], ansibleEnv, () =>
      rmSync(path.join(dir, 'ansible-root'), { recursive: true, force: true }),
    );
    // pyinfra: pcc's export, once pcc's exec has recorded the host key; the real
    // binary rather than pyenv's shim.
    const which = spawnSync('pyenv', ['which', 'pyinfra'], { encoding: 'utf8' });
    const pyinfra = which.status === 0 && which.stdout.trim() ? which.stdout.trim() : 'pyinfra';
    const pyInventory = path.join(dir, 'inventory.py');
    execFileSync('node', [bin, 'inventory', '--pyinfra', pyInventory, '--project', project], { env });
    const pyinfraExec = time([pyinfra, '-y', pyInventory, 'exec', '--', 'true'], env);
    const pyinfraRun = time([pyinfra, '-y', '--data', `bench_root=${dir}/pyinfra-root`, pyInventory, path.join(repo, 'bench/engine/compute-host.pyinfra.py')], env, () =>
      rmSync(path.join(dir, 'pyinfra-root'), { recursive: true, force: true }),
    );
    return { ansibleExec, ansibleRun, pyinfraExec, pyinfraRun };
  };
  const anchor = anchors ? measureAnchors() : undefined;

  console.log(
    `Start-up on one sshd host: ${reps} reps, medians, ${new Date().toISOString().slice(0, 10)}, ${process.version}, ${cpus().length} cores, load average ${loadBefore} before, ${load()} after\n`,
  );
  console.log(`1-minute load average between runs: ${Math.min(...loadSamples).toFixed(2)} to ${Math.max(...loadSamples).toFixed(2)}\n`);
  console.log('| phase | command | total ms | phase ms | on top of |');
  console.log('|---|---|---:|---:|---|');
  for (const [phase, cmd, total, after] of rungs) {
    console.log(`| ${phase} | ${cmd} | ${total.toFixed(0)} | ${(total - (after ? ms(after) : 0)).toFixed(0)} | ${after ?? '-'} |`);
  }
  const phase = (p: string) => {
    const [, , total, after] = rungs.find((x) => x[0] === p)!;
    return (total - (after ? ms(after) : 0)).toFixed(0);
  };
  console.log(`\nBreakdown (ms): ${['node', 'modules', 'settings', 'state', 'connect', 'plan', 'apply'].map((p) => `${p} ${phase(p)}`).join(', ')}`);
  const exec = ms('connect');
  const run = ms('apply');
  const verdict = (x: number, limit: number) => `${x.toFixed(0)} ms, ${x <= limit ? 'met' : 'not met'}`;
  if (anchor) {
    const { ansibleExec, ansibleRun, pyinfraExec, pyinfraRun } = anchor;
    console.log(`\nAnchors: ansible -m command ${ansibleExec.toFixed(0)} ms (Ansible / pcc exec ${(ansibleExec / exec).toFixed(1)}); ansible-playbook ${ansibleRun.toFixed(0)} ms (Ansible / pcc run ${(ansibleRun / run).toFixed(1)})`);
    console.log(`         pyinfra exec -- true ${pyinfraExec.toFixed(0)} ms (pyinfra / pcc exec ${(pyinfraExec / exec).toFixed(1)}); pyinfra deploy ${pyinfraRun.toFixed(0)} ms (pyinfra / pcc run ${(pyinfraRun / run).toFixed(1)})`);
  }
  console.log(
    `Targets: pcc run (first run) ≤ 300 ms: ${verdict(run, 300)}; pcc exec ≤ 300 ms: ${verdict(exec, 300)}; pcc hosts ≤ 120 ms: ${verdict(ms('state'), 120)}; pcc status ≤ 120 ms: ${verdict(ms('status'), 120)}`,
  );
} finally {
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
}
