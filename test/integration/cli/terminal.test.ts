import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmuxServer, until as untilFixture } from '../../fixtures/tmux.js';
import { helpExamples } from '../../../src/cli/main.js';
import { pcc, repoRoot } from '../../fixtures/cli.js';
import { pasteIntoBash } from '../../fixtures/paste.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/*
 * pcc in real terminals (tmux) and real pipes, against real sshd hosts: the
 * live view, a closed reader, and Ctrl-C during `pcc exec`.
 */

let fleet: SshdFleet;
let dir: string;
let project: string;
let home: string;
const bin = path.join(repoRoot, 'bin/pcc.js');

const { tmux, kill: killTmux } = tmuxServer('terminal');
const screen = (session: string) => tmux('capture-pane', '-p', '-t', session);

const until = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000) => untilFixture(what, probe, timeoutMs);

/** Every process below the hosts' sshd, by command line: what runs "on the hosts". */
function remoteCommands(): string[] {
  const out: string[] = [];
  const walk = (pid: number) => {
    const r = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
    for (const line of r.stdout.split('\n').filter((l) => l.trim())) {
      const [child, ...args] = line.trim().split(/\s+/);
      out.push(args.join(' '));
      walk(Number(child));
    }
  };
  for (const h of fleet.hosts) walk(h.process.pid!);
  return out;
}

/** A shell line run in tmux, with the test's HOME, that leaves its exit code in a file. */
function inTmux(session: string, command: string, rcFile: string): void {
  // A person at a terminal: CI (set when the suite runs in CI) would switch the live view off.
  const line = `cd ${project} && env -u CI HOME=${home} TERM=xterm-256color ${command}; echo $? > ${rcFile}; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '110', '-y', '30', 'bash', '--norc', '-c', line);
}

beforeAll(async () => {
  fleet = await startSshdHosts(2, { prefix: 't' });
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-term-'));
  project = path.join(dir, 'project');
  home = path.join(dir, 'home');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  writeFileSync(path.join(project, 'config/vars.env'), `WORK_ROOT=${path.join(dir, 'work')}\n`);
  for (const h of fleet.hosts) {
    const r = pcc(['--project', project, 'hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key], { HOME: home });
    expect(r.code, r.stderr).toBe(0);
  }
});

afterAll(async () => {
  killTmux();
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('pcc in real pipes and terminals', () => {
  it('a reader that goes away ends pcc quietly with 0: status | head -1, exec ... | head -1', () => {
    const run = (line: string) =>
      spawnSync('bash', ['-c', `${line}; echo "rc=\${PIPESTATUS[0]}" >&2`], { cwd: project, env: { ...process.env, HOME: home }, encoding: 'utf8' });
    const status = run(`node ${bin} hosts | head -1`);
    expect(status.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(status.stderr).toBe('rc=0\n');
    const exec = run(`node ${bin} exec t1 -- seq 200000 | head -1`);
    expect(exec.stdout).toBe('t1 | 1\n');
    expect(exec.stderr).toBe('rc=0\n');
    const st = run(`node ${bin} status | head -1`);
    expect(st.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(st.stderr).toMatch(/rc=0\n$/);
    expect(st.stderr).not.toMatch(/EPIPE|at /);
  });

  it('pcc run shows a live per-host view with steps, spinner and times, then the recap', async () => {
    const playbook = path.join(dir, 'slow.ts');
    writeFileSync(
      playbook,
      `import { definePlaybook, ops } from 'pcc';
export default definePlaybook({
  name: 'slow',
  run(host) {
    const d = host.vars.WORK_ROOT + '/' + host.name;
    host.add(ops.directory(d));
    host.add(ops.command('sleep 3; touch ' + d + '/done', { creates: d + '/done' }));
  },
});
`,
    );
    const rc = path.join(dir, 'run.rc');
    inTmux('live', `node ${bin} run ${playbook} all`, rc);
    const live = await until('the live view', () => {
      const s = screen('live');
      return /applying \d+ change/.test(s) && s;
    });
    expect(live).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/); // listr2's spinner
    expect(live).toMatch(/t[12]\s+applying \d+ change\(s\)\s+\d+(\.\d)?s/);
    expect(live).toMatch(/t2\s+/);
    await until('the end of the run', () => existsSync(rc) && readFileSync(rc, 'utf8').trim() !== '');
    const end = screen('live');
    expect(readFileSync(rc, 'utf8').trim()).toBe('0');
    expect(end).toMatch(/✔ t1\s+done/);
    expect(end).toMatch(/RECAP slow/);
    expect(end).toMatch(/t2\s+0\s+2\s+0\s+0/);
    expect(end).toMatch(/^total \d/m);
  });

  it('Ctrl-C during pcc exec all -- sleep stops the remote commands and exits 130', async () => {
    const rc = path.join(dir, 'exec.rc');
    inTmux('ctrlc', `node ${bin} exec all -- sleep 31.5`, rc);
    await until('sleep on both hosts', () => remoteCommands().filter((c) => c === 'sleep 31.5').length === 2);
    tmux('send-keys', '-t', 'ctrlc', 'C-c');
    await until('pcc to exit', () => existsSync(rc) && readFileSync(rc, 'utf8').trim() !== '', 15_000);
    expect(readFileSync(rc, 'utf8').trim()).toBe('130');
    const s = screen('ctrlc');
    expect(s).toMatch(/pcc: interrupted \(SIGINT\) during pcc exec on t1, t2; stopping the remote commands pcc started/);
    await until('no sleep left on any host', () => !remoteCommands().some((c) => c.includes('sleep 31.5')), 5_000);
    // Nor anywhere else: a command whose session was cut is reparented to init, out of sight of the walk above.
    const anywhere = () => spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('sleep 31.5') && !l.includes(' exec all '));
    await until('no sleep left on this machine', () => anywhere().length === 0, 5_000).catch((err) => {
      throw new Error(`${(err as Error).message}: ${anywhere().join(' | ')}`);
    });
    // Nothing is left locked: the next command runs at once.
    expect(pcc(['--project', project, 'exec', 'all', '--', 'true'], { HOME: home }).code).toBe(0);
  });

  it('a removal on a terminal lists what goes and asks: n keeps it (exit 1), Ctrl-C too (exit 130), y removes it (exit 0)', async () => {
    const made = pcc(['--project', project, 'volume', 'create', 'scratch', '--size', '1'], { HOME: home });
    expect(made.code, made.stderr).toBe(0);
    const folder = path.join(project, '.pcc/volumes/scratch');
    expect(existsSync(folder)).toBe(true);
    for (const [answer, code] of [['n', '1'], ['C-c', '130'], ['y', '0']] as const) {
      const session = `ask-${answer}`;
      const rc = path.join(dir, `${session}.rc`);
      inTmux(session, `node ${bin} volume rm scratch`, rc);
      await until('the question', () => screen(session).includes('remove this? [y/N]'));
      expect(screen(session)).toContain('would remove volume scratch (local, 1 GiB) and everything on it');
      tmux('send-keys', '-t', session, ...(answer === 'C-c' ? [answer] : [answer, 'Enter']));
      await until('pcc to exit', () => existsSync(rc) && readFileSync(rc, 'utf8').trim() !== '', 15_000);
      expect(readFileSync(rc, 'utf8').trim()).toBe(code);
      expect(existsSync(folder)).toBe(answer !== 'y');
      if (answer === 'n') expect(screen(session)).toContain('nothing removed');
      if (answer === 'C-c') expect(screen(session)).toMatch(/\[y\/N\]\s*pcc: interrupted at the question; nothing removed/);
    }
  });
});

/** The commands after `next:` in a command's output, as printed. */
function hintsIn(stdout: string): string[] {
  const lines = stdout.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (line.startsWith('next: ')) out.push(line.slice('next: '.length));
    if (line !== 'next:') return;
    for (let j = i + 1; j < lines.length && lines[j]!.startsWith('  '); j++) out.push(lines[j]!.slice(2));
  });
  return out;
}

describe('hints paste into bash as they are (issue 30, items 6, 12 and 13)', () => {
  it('every printed hint pasted into a real bash -i runs without an error, with its pattern as one word, pcc as it was started and ssh -F under another HOME', async () => {
    const playbook = path.join(dir, 'noop.ts');
    writeFileSync(playbook, `import { definePlaybook } from 'pcc';\nexport default definePlaybook({ name: 'noop', run() {} });\n`);
    // Started as node bin/pcc.js, with no pcc on the PATH, and HOME not the passwd home (root's).
    const node = (cwd: string, args: string[]) => {
      const r = spawnSync('node', [bin, ...args], { cwd, env: { ...process.env, HOME: home, PATH: '/usr/local/bin:/usr/bin:/bin' }, encoding: 'utf8' });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return hintsIn(r.stdout);
    };
    const t1 = fleet.hosts[0]!;
    const inDir = node(dir, ['new', 'my proj']);
    expect(inDir).toEqual([`cd 'my proj' && node ${bin} up --provider local`, `node ${bin} run playbooks/site.ts all`]);
    const added = node(project, ['hosts', 'add', t1.name, `root@${t1.address}:22`, '--key', fleet.key]);
    expect(added).toEqual([`ssh -F ${home}/.ssh/config ${t1.name}`, `node ${bin} setup ${t1.name}`]);
    const excluded = node(project, ['run', playbook, 'all:!t2', '--dry']);
    expect(excluded).toEqual([`node ${bin} run ${playbook} 'all:!t2'`]);
    const fromElsewhere = node(dir, ['--project', project, 'run', playbook, 't1:&static', '--dry']);
    expect(fromElsewhere).toEqual([`node ${bin} --project ${project} run ${playbook} 't1:&static'`]);
    const inCheckout = node(repoRoot, ['--project', project, 'run', playbook, 'all:-t2', '--dry']);
    expect(inCheckout).toEqual([`node bin/pcc.js --project ${project} run ${playbook} all:-t2`]);
    const inProject = [
      ...added,
      ...excluded,
      ...node(project, ['inventory', '--pyinfra', 'inv.py']),
      ...node(project, ['volume', 'create', 'pastevol', '--size', '1']),
    ];
    expect(node(project, ['volume', 'rm', 'pastevol', '--yes'])).toEqual([]);
    // With the pcc of npm link on the PATH, the hints say pcc.
    const linked = pcc(['--project', project, 'run', playbook, 'all:!t2', '--dry'], { HOME: home });
    expect(hintsIn(linked.stdout)).toEqual([`pcc --project ${project} run ${playbook} 'all:!t2'`]);

    const batches: [string, string[]][] = [
      [dir, [...inDir, ...fromElsewhere, ...hintsIn(linked.stdout), ...helpExamples()]],
      [project, inProject],
      [repoRoot, inCheckout],
    ];
    const calls: string[][] = [];
    for (const [cwd, lines] of batches) {
      const pasted = await pasteIntoBash(lines, cwd);
      expect(pasted.errors, lines.join('\n')).toBe('');
      // Each line started its program (one per line; a pipe of the help examples two).
      expect(pasted.calls.length, lines.join('\n')).toBe(lines.length + lines.filter((l) => l.includes(' | ')).length);
      calls.push(...pasted.calls);
    }
    const argsOf = (word: string) => calls.filter((c) => c.includes(word));
    expect(argsOf('all:!t2').length).toBe(2);
    expect(argsOf('t1:&static')).toEqual([['node', bin, '--project', project, 'run', playbook, 't1:&static']]);
    expect(argsOf('ec2:&gpu').length).toBe(2);
    expect(argsOf('all:-init')).toEqual([['pcc', 'autostop', 'all:-init', '--off']]);
    expect(calls).toContainEqual(['ssh', '-F', `${home}/.ssh/config`, t1.name]);

    // And the ssh hint reaches the host, where plain ssh (the passwd home's config) does not know the alias.
    const resolved = (args: string[]) => spawnSync('ssh', [...args, '-G', t1.name], { env: { ...process.env, HOME: home }, encoding: 'utf8' }).stdout.match(/^hostname (.*)$/m)?.[1];
    expect(resolved([])).toBe(t1.name);
    expect(resolved(['-F', `${home}/.ssh/config`])).toBe(t1.address);
    const reached = spawnSync('ssh', ['-F', `${home}/.ssh/config`, '-o', 'BatchMode=yes', t1.name, 'echo reached'], { env: { ...process.env, HOME: home }, encoding: 'utf8', timeout: 30_000 });
    expect(reached.stdout.trim(), reached.stderr).toBe('reached');
  }, 120_000);
});
