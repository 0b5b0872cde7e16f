import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { tmuxServer, until as untilFixture } from '../../fixtures/tmux.js';
import { pcc, pccAsync, repoRoot } from '../../fixtures/cli.js';
import { liveInstances, useMotoSuite } from '../../fixtures/ec2.js';
import { startProxy } from '../../fixtures/kill.js';
import { pasteIntoBash } from '../../fixtures/paste.js';

/*
 * The CLI on moto, issue 30: `pcc resume ec2` waits for SSH as acquire does
 * (item 8), Ctrl-C on a terminal during `pcc acquire` says what it was doing
 * and exits 130 (item 9), and the hints acquire, save and resume print paste
 * into bash (item 6).
 *
 * moto's instances have made-up public addresses, and no test may send
 * anything beyond 127.0.0.0/8: where a run waits for SSH, its EC2 endpoint is
 * a loopback proxy in front of moto that turns every public address in the
 * replies into a loopback one where nothing listens.
 */
const suite = useMotoSuite('cli');
const bin = path.join(repoRoot, 'bin/pcc.js');
/** Nothing listens on port 22 there: a connection is refused at once. */
const NOBODY = '127.0.0.77';

const { tmux, kill: killTmux } = tmuxServer('ec2-cli');
afterAll(() => {
  killTmux();
});

const until = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000) => untilFixture(what, probe, timeoutMs);

/** Every public address in an EC2 reply, made loopback. */
const toLoopback = (body: string) =>
  body.replace(/<(ipAddress|publicIp)>[^<]*<\/\1>/g, `<$1>${NOBODY}</$1>`).replace(/<dnsName>ec2-[^<]*<\/dnsName>/g, '<dnsName></dnsName>');

const env = () => ({ ...suite.moto.env, HOME: suite.t.project.home });
const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => pcc([...args, '--project', suite.t.project.root], { ...env(), ...extra });
/** Through the proxy, which answers from this process: the run must not block it. */
const runAsync = (args: string[], extra: NodeJS.ProcessEnv = {}) => pccAsync([...args, '--project', suite.t.project.root], { ...env(), ...extra });

/** The commands after `next:`, as printed. */
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

describe('pcc on moto, as a user runs it', () => {
  test('item 8: resume ec2 waits for ssh as acquire does (a host not up is said, not "resumed"; exit 4), and --no-wait skips the wait', { timeout: 120_000 }, async () => {
    // A short SSH wait: it ends as soon as the loopback address has refused.
    appendFileSync(path.join(suite.t.project.root, 'config/ec2.env'), 'EC2_SSH_WAIT_S=1\n');
    suite.t.writeConfig('pcc.env', { PCC_CONNECT_RETRIES: '0' });
    const acquired = run(['acquire', 'ec2', '--no-wait']);
    expect(acquired.code, acquired.stderr).toBe(0);
    const saved = run(['save', 'ec2']);
    expect(saved.code, saved.stderr).toBe(0);
    const hints = [...hintsIn(acquired.stdout), ...hintsIn(saved.stdout)];

    const proxy = await startProxy(suite.moto.endpoint, () => ({ rewrite: toLoopback }));
    try {
      const waited = await runAsync(['resume', 'ec2'], { AWS_ENDPOINT_URL_EC2: proxy.url });
      expect(waited.code, waited.stderr).toBe(4);
      expect(waited.stderr).toContain('cpu1 | waiting for ssh');
      expect(waited.stderr).toMatch(new RegExp(`cpu1: started, but not reachable over ssh yet: .*${NOBODY.replace(/\./g, '\\.')}:22`));
      expect(waited.stdout).not.toMatch(/^resumed/m);
      hints.push(...hintsIn(waited.stdout));
      expect((await liveInstances(suite.aws, suite.t.project.id)).map((i) => i.State?.Name)).toEqual(['running']);

      expect(run(['save', 'ec2']).code).toBe(0);
      const skipped = await runAsync(['resume', 'ec2', '--no-wait'], { AWS_ENDPOINT_URL_EC2: proxy.url });
      expect(skipped.code, skipped.stderr).toBe(0);
      expect(skipped.stdout).toMatch(/^resumed: cpu1 \(--no-wait: not waited for ssh\)$/m);
      expect(skipped.stderr).not.toContain('waiting for ssh');
      hints.push(...hintsIn(skipped.stdout));
    } finally {
      await proxy.close();
    }

    // Item 6: what acquire, save and resume told the user to run next pastes into bash as it is.
    // (--project was given, so the hints give it too.)
    const p = `pcc --project ${suite.t.project.root}`;
    expect(hints).toEqual([`${p} setup ec2`, `${p} exec ec2 -- uptime`, `${p} save ec2  # or ${p} destroy ec2`, `${p} resume ec2`, `${p} setup ec2`, `${p} setup ec2`]);
    const pasted = await pasteIntoBash(hints, suite.t.project.root);
    expect(pasted.errors).toBe('');
    expect(pasted.calls).toEqual(hints.map((h) => h.split('  #')[0]!.split(' ')));
    expect(run(['destroy', 'ec2', '--yes']).code).toBe(0);
  });

  test('item 9: Ctrl-C on a terminal while acquire waits for ssh ends the live view (no frozen spinner), says what it was doing and what it left, and exits 130', { timeout: 120_000 }, async () => {
    // The host never answers (its address is made loopback, where nothing listens): acquire polls for a minute, spinner on.
    appendFileSync(path.join(suite.t.project.root, 'config/ec2.env'), 'EC2_SSH_WAIT_S=60\n');
    const proxy = await startProxy(suite.moto.endpoint, () => ({ rewrite: toLoopback }));
    const rc = path.join(suite.t.base, 'acquire.rc');
    try {
      const envWords = Object.entries({ ...env(), AWS_ENDPOINT_URL_EC2: proxy.url, TERM: 'xterm-256color' }).map(([k, v]) => `${k}=${v}`);
      const line = `env -u CI ${envWords.join(' ')} node ${bin} acquire ec2 --project ${suite.t.project.root}; echo $? > ${rc}; sleep 600`;
      tmux('new-session', '-d', '-s', 'acquire', '-x', '150', '-y', '30', 'bash', '--norc', '-c', line);
      const screen = () => tmux('capture-pane', '-p', '-t', 'acquire');
      await until('the live view waiting for cpu1', () => /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] cpu1 .*booting: waiting for sshd/.test(screen()), 60_000);
      tmux('send-keys', '-t', 'acquire', 'C-c');
      await until('pcc to exit', () => existsSync(rc) && readFileSync(rc, 'utf8').trim() !== '', 20_000);
      expect(readFileSync(rc, 'utf8').trim()).toBe('130');
      const after = screen();
      expect(after).toMatch(/pcc: interrupted \(SIGINT\) during pcc acquire \(at: cpu1: booting: waiting for sshd on 127\.0\.0\.77:22/);
      expect(after).toMatch(/pcc: stopped; nothing is left half-written, and running pcc acquire again picks up from here/);
      // The row is marked as not finished, and no spinner is left frozen on the screen.
      expect(after).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
      expect(after).toMatch(/cpu1 .*\(unfinished\)/);
    } finally {
      await proxy.close();
    }
    // What it left: the host runs, and acquire again converges on it (nothing doubled).
    const again = run(['acquire', 'ec2', '--no-wait']);
    expect(again.code, again.stderr).toBe(0);
    expect((await liveInstances(suite.aws, suite.t.project.id)).map((i) => i.State?.Name)).toEqual(['running']);
    expect(run(['destroy', 'ec2', '--yes']).code).toBe(0);
  });
});
