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
// Anchors: `ansible h -m command -a true` and `ansible-playbook` on the same
// host, and pyinfra's `exec -- true` and the pyinfra deploy (pcc's own
// `pcc inventory --pyinfra` export as its inventory). Run `npm run build` first; `npx tsx bench/startup.ts [--reps 7] [--no-anchors]`.
// For a per-function view: `node --cpu-prof bin/pcc.js hosts` and open the
// .cpuprofile in Chrome's DevTools, or `node bench/cpuprofile.mjs FILE` for
// the self time per package and chunk.
// The breakdown line gives the phases in the order a command meets them
// (node, modules, settings, state, connect, plan, apply), each the difference
// between two rungs; the 1-minute load average is sampled between runs.
// Where NODE_EXTRA_CA_CERTS is set, every rung is also run without it: node
// itself pays for that setting at start, before pcc loads (see the table).
// --no-anchors: pcc's rungs alone (the anchors take most of the time).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { benchHosts, fmt, isMain, machine, option, pccBin as bin, playbooks, repo, runAsScript, today, wipeForFirstRun, type Report } from './lib/hosts.js';

export async function startupBench(argv: string[]): Promise<Report> {
  const reps = Number(option(argv, 'reps', '7'));
  const anchors = !argv.includes('--no-anchors');
  const loadSamples: number[] = [];
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadBefore = load();
  const s = await benchHosts(1, { prefix: 's' });
  try {
    const { project, env } = s;
    const h = s.hosts[0]!;
    const playbook = playbooks.pcc;
    const fresh = () => wipeForFirstRun(s);
    const ansibleEnv = { ...env, ANSIBLE_CONFIG: s.ansibleConfig };

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
    const ladder = (e: NodeJS.ProcessEnv): [string, string, number, string | undefined][] => [
      ['node', 'node -e 0', time(['node', '-e', '0'], e), undefined],
      ['modules', 'import the bundled CLI', time(['node', '--input-type=module', '-e', `await import(${JSON.stringify(path.join(repo, 'dist/bundle/src/cli/main.js'))})`], e), 'node'],
      ['state', 'pcc hosts', time(['node', bin, 'hosts', '--project', project], e), 'modules'],
      ['settings', 'pcc hosts --json', time(['node', bin, 'hosts', '--json', '--project', project], e), 'state'],
      ['status', 'pcc status (static hosts only)', time(['node', bin, 'status', '--project', project], e), 'settings'],
      ['connect', 'pcc exec h -- true', time(['node', bin, 'exec', h.name, '--project', project, '--', 'true'], e), 'settings'],
      ['plan', 'pcc run --dry (first run)', time(['node', bin, 'run', playbook, h.name, '--dry', '--project', project], e, fresh), 'connect'],
      ['apply', 'pcc run (first run)', time(['node', bin, 'run', playbook, h.name, '--project', project], e, fresh), 'plan'],
    ];
    const rungs = ladder(env);
    // Node reads NODE_EXTRA_CA_CERTS at its own start, before any of pcc loads: it
    // builds OpenSSL's whole root store then (tens of ms where the file is a full
    // CA bundle). Where it is set, the ladder runs once more without it, so that
    // pcc's share is seen apart from this machine's setting.
    const { NODE_EXTRA_CA_CERTS: extraCa, ...withoutCa } = env;
    const bare = extraCa ? ladder(withoutCa) : undefined;
    const ms = (phase: string) => rungs.find((x) => x[0] === phase)![2];
    const measureAnchors = () => {
      const ansibleExec = time(['ansible', h.name, '-m', 'command', '-a', 'true'], ansibleEnv);
      const ansibleRun = time(['ansible-playbook', playbooks.ansible, '-e', `bench_root=${s.ansibleRoot}`], ansibleEnv, () => rmSync(s.ansibleRoot, { recursive: true, force: true }));

      // pyinfra: pcc's export, once pcc's exec has recorded the host key; the real
      // binary rather than pyenv's shim.
      const which = spawnSync('pyenv', ['which', 'pyinfra'], { encoding: 'utf8' });
      const pyinfra = which.status === 0 && which.stdout.trim() ? which.stdout.trim() : 'pyinfra';
      const pyInventory = path.join(s.dir, 'inventory.py');
      const exported = spawnSync('node', [bin, 'inventory', '--pyinfra', pyInventory, '--project', project], { env, encoding: 'utf8' });
      if (exported.status !== 0) throw new Error(`pcc inventory --pyinfra failed: ${exported.stderr}`);
      const pyinfraExec = time([pyinfra, '-y', pyInventory, 'exec', '--', 'true'], env);
      const pyinfraRun = time([pyinfra, '-y', '--data', `bench_root=${s.pyinfraRoot}`, pyInventory, playbooks.pyinfra], env, () => rmSync(s.pyinfraRoot, { recursive: true, force: true }));
      return { ansibleExec, ansibleRun, pyinfraExec, pyinfraRun };
    };
    const anchor = anchors ? measureAnchors() : undefined;

    const exec = ms('connect');
    const run = ms('apply');
    const phaseOf = (r: typeof rungs, p: string) => {
      const at = (q: string) => r.find((x) => x[0] === q)![2];
      const [, , total, after] = r.find((x) => x[0] === p)!;
      return (total - (after ? at(after) : 0)).toFixed(0);
    };
    const phase = (p: string) => phaseOf(rungs, p);
    const msBare = (p: string) => bare!.find((x) => x[0] === p)![2];
    const verdict = (x: number, limit: number) => `${x.toFixed(0)} ms, ${x <= limit ? 'met' : 'not met'}`;
    const targets = (at: (p: string) => number) =>
      `pcc run (first run) ≤ 300 ms: ${verdict(at('apply'), 300)}; pcc exec ≤ 300 ms: ${verdict(at('connect'), 300)}; pcc hosts ≤ 120 ms: ${verdict(at('state'), 120)}; pcc status ≤ 120 ms: ${verdict(at('status'), 120)}`;
    const text = [
      `Start-up on one sshd host: ${reps} reps, medians, ${today()}, ${machine()}, load average ${loadBefore} before, ${load()} after`,
      `1-minute load average between runs: ${Math.min(...loadSamples).toFixed(2)} to ${Math.max(...loadSamples).toFixed(2)}`,
      ...(bare ? [`NODE_EXTRA_CA_CERTS is set here (${extraCa}); the last two columns are the same commands without it`] : []),
      '',
      `| phase | command | total ms | phase ms | on top of |${bare ? ' total ms, no extra CAs | phase ms, no extra CAs |' : ''}`,
      `|---|---|---:|---:|---|${bare ? '---:|---:|' : ''}`,
      ...rungs.map(
        ([p, cmd, total, after]) =>
          `| ${p} | ${cmd} | ${total.toFixed(0)} | ${phase(p)} | ${after ?? '-'} |${bare ? ` ${msBare(p).toFixed(0)} | ${phaseOf(bare, p)} |` : ''}`,
      ),
      '',
      `Breakdown (ms): ${['node', 'modules', 'settings', 'state', 'connect', 'plan', 'apply'].map((p) => `${p} ${phase(p)}`).join(', ')}`,
      ...(anchor
        ? [
            `Anchors: ansible -m command ${anchor.ansibleExec.toFixed(0)} ms (Ansible / pcc exec ${(anchor.ansibleExec / exec).toFixed(1)}); ansible-playbook ${anchor.ansibleRun.toFixed(0)} ms (Ansible / pcc run ${(anchor.ansibleRun / run).toFixed(1)})`,
            `         pyinfra exec -- true ${anchor.pyinfraExec.toFixed(0)} ms (pyinfra / pcc exec ${(anchor.pyinfraExec / exec).toFixed(1)}); pyinfra deploy ${anchor.pyinfraRun.toFixed(0)} ms (pyinfra / pcc run ${(anchor.pyinfraRun / run).toFixed(1)})`,
          ]
        : []),
      `Targets: ${targets(ms)}`,
      ...(bare ? [`Targets without NODE_EXTRA_CA_CERTS: ${targets(msBare)}`] : []),
    ].join('\n');
    const target = (measure: string, x: number, limit: number) => ({ part: 'startup', measure, value: `${fmt(x, 0)} ms`, target: `≤${limit} ms`, met: x <= limit });
    const summary = (at: (p: string) => number, label = '') => [
      target(`one-host pcc run, first run${label}`, at('apply'), 300),
      target(`pcc exec${label}`, at('connect'), 300),
      target(`pcc hosts${label}`, at('state'), 120),
      target(`pcc status (static hosts)${label}`, at('status'), 120),
    ];
    return { title: 'startup', text, summary: [...summary(ms), ...(bare ? summary(msBare, ', without NODE_EXTRA_CA_CERTS') : [])] };
  } finally {
    await s.stop();
  }
}

if (isMain(import.meta.url)) await runAsScript(startupBench);
