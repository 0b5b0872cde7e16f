import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AGENT_COUNTS,
  agentConfig,
  agentScript,
  parseContainers,
  parseGpuUtilisation,
  parseLoadAverage,
  parseSshSessions,
  timerUnit,
} from '../../../src/autostop/agent.js';
import { AUTOSTOP_RUN_DIR, HEARD_FILE, touchHeard } from '../../../src/autostop/heard.js';
import { parseAgentState, parseMinutes, secondsUntilStop } from '../../../src/autostop/setting.js';
import { settingFromFlags } from '../../../src/cli/commands/autostop.js';
import { pcc } from '../../fixtures/cli.js';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '../../fixtures/autostop', name), 'utf8');
/** What the agent's own sh pipeline makes of the same output. */
const inSh = (pipeline: string, input: string) => execFileSync('sh', ['-c', pipeline], { input, encoding: 'utf8' }).trim();
const shCount = (pipeline: string, input: string) => {
  try {
    return inSh(pipeline, input);
  } catch (err) {
    // grep -c exits 1 when it counts 0, and still prints 0.
    return String((err as { stdout: string }).stdout).trim();
  }
};

describe('autostop signals, parsed from recorded outputs (test/fixtures/autostop/README.md says which are recorded)', () => {
  it('ssh sessions: recorded ps -eo args= with one notty session counts 1; the listener and [priv] lines never count', () => {
    expect(parseSshSessions(fixture('ps-args-one-session.txt'))).toBe(1);
    expect(parseSshSessions(fixture('ps-args-no-session.txt'))).toBe(0);
    expect(parseSshSessions(fixture('ps-args-pty-and-new-sshd.txt'))).toBe(3);
    // Recorded: who lists nothing for a session without a terminal, so it cannot be the signal.
    expect(fixture('who-notty.txt')).toBe('');
  });

  it('containers: recorded docker ps -q with none and with two', () => {
    expect(parseContainers(fixture('docker-ps-q-none.txt'))).toBe(0);
    expect(parseContainers(fixture('docker-ps-q-two.txt'))).toBe(2);
  });

  it('GPU utilisation (composed nvidia-smi CSV): the busiest GPU; [N/A] counts 0; no output is no GPU', () => {
    expect(parseGpuUtilisation(fixture('nvidia-smi-util-two.txt'))).toBe(87);
    expect(parseGpuUtilisation(fixture('nvidia-smi-util-low.txt'))).toBe(3);
    expect(parseGpuUtilisation(fixture('nvidia-smi-util-na.txt'))).toBe(0);
    expect(parseGpuUtilisation('')).toBeUndefined();
  });

  it('load: the 1-minute figure of recorded /proc/loadavg; a garbled one is an error', () => {
    expect(parseLoadAverage(fixture('loadavg.txt'))).toBe(7.52);
    expect(parseLoadAverage(fixture('loadavg-idle.txt'))).toBe(0.08);
    expect(() => parseLoadAverage('')).toThrow(/unreadable/);
  });

  it("the agent's sh pipelines count the same outputs as the parsers (real sh, grep and awk)", () => {
    for (const f of ['ps-args-one-session.txt', 'ps-args-no-session.txt', 'ps-args-pty-and-new-sshd.txt']) {
      expect(shCount(AGENT_COUNTS.sessions, fixture(f))).toBe(String(parseSshSessions(fixture(f))));
    }
    for (const f of ['docker-ps-q-none.txt', 'docker-ps-q-two.txt']) {
      expect(shCount(AGENT_COUNTS.containers, fixture(f))).toBe(String(parseContainers(fixture(f))));
    }
    for (const f of ['nvidia-smi-util-two.txt', 'nvidia-smi-util-low.txt', 'nvidia-smi-util-na.txt']) {
      expect(inSh(AGENT_COUNTS.gpu, fixture(f))).toBe(String(parseGpuUtilisation(fixture(f))));
    }
    expect(inSh(AGENT_COUNTS.load, fixture('loadavg.txt'))).toBe('7.52');
  });

  it('the agent script is valid POSIX sh (dash -n) and uses the config it is given', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pcc-autostop-'));
    try {
      execFileSync('dash', ['-n'], { input: agentScript() });
      expect(agentConfig({ idleMinutes: 30, down: false, leaseMinutes: 720 }, { checkSeconds: 15, loadPerCpu: 0.5 })).toBe(
        '# pcc autostop (written by pcc; change it with pcc autostop)\nIDLE_S=1800\nLEASE_S=43200\nLOAD_PER_CPU=0.5\nGPU_BUSY_PERCENT=10\nCHECK_S=15\n',
      );
      expect(timerUnit({ checkSeconds: 15, loadPerCpu: 0.5 })).toContain('OnUnitActiveSec=15s\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('item 3: /run/pcc-autostop/heard is not writable by non-root (only pcc, as root, renews the lease)', () => {
  it("pcc's touch runs as root: plain for root, through sudo -n for any other login user (exact lines)", () => {
    expect(touchHeard('root')).toBe('[ ! -d /run/pcc-autostop ] || touch /run/pcc-autostop/heard 2>/dev/null || :');
    expect(touchHeard('core')).toBe('[ ! -d /run/pcc-autostop ] || sudo -n touch /run/pcc-autostop/heard 2>/dev/null || :');
  });

  it("the agent keeps the file 0644 (so user nobody cannot renew it), and mends an older pcc's 0666 (its lines run in real sh)", () => {
    const script = agentScript();
    expect(script).not.toContain('0666');
    const lines = script.split('\n').filter((l) => l.includes(HEARD_FILE) && !l.startsWith('heard='));
    expect(lines).toEqual([`[ -f ${HEARD_FILE} ] || : > ${HEARD_FILE}`, `chmod 0644 ${HEARD_FILE}`]);
    const dir = mkdtempSync(path.join(tmpdir(), 'pcc-heard-'));
    try {
      const run = () => execFileSync('sh', ['-c', `umask 000; ${lines.join('\n').replaceAll(AUTOSTOP_RUN_DIR, dir)}`]);
      run();
      expect(statSync(path.join(dir, 'heard')).mode & 0o777).toBe(0o644);
      writeFileSync(path.join(dir, 'heard'), '');
      chmodSync(path.join(dir, 'heard'), 0o666);
      run();
      expect(statSync(path.join(dir, 'heard')).mode & 0o777).toBe(0o644);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('autostop durations, state and flags', () => {
  it('durations: 30m, 12h, 1d, bare minutes; anything else names the flag', () => {
    expect([parseMinutes('30m', '--idle'), parseMinutes('12h', '--lease'), parseMinutes('1d', '--idle'), parseMinutes('90', '--idle')]).toEqual([30, 720, 1440, 90]);
    expect(() => parseMinutes('5x', '--idle')).toThrow('--idle 5x: give a duration such as 30m, 12h or 1d (at least 1m)');
    expect(() => parseMinutes('0m', '--lease')).toThrow(/^--lease 0m:/);
  });

  it('time until stop: idle period when idle, the lease in any case, none when busy without a lease', () => {
    const state = parseAgentState('checked=1000\nlast_busy=940\nheard=900\nidle_s=120\nlease_s=0\ncheck_s=15\nbusy=\nstopping=\n')!;
    expect(secondsUntilStop(state, 1010)).toBe(50);
    expect(secondsUntilStop({ ...state, busy: 'containers=1' }, 1010)).toBeUndefined();
    expect(secondsUntilStop({ ...state, busy: 'containers=1', leaseSeconds: 600 }, 1010, 1010)).toBe(600);
    expect(secondsUntilStop({ ...state, leaseSeconds: 100 }, 1010)).toBe(0);
    expect(parseAgentState('garbage')).toBeUndefined();
  });

  it('flags: --idle is needed, --off stands alone', () => {
    expect(settingFromFlags({ idle: '30m', down: true, off: false, lease: '12h' })).toEqual({ idleMinutes: 30, down: true, leaseMinutes: 720 });
    expect(settingFromFlags({ down: false, off: true })).toBeUndefined();
    expect(() => settingFromFlags({ down: false, off: false })).toThrow('pcc autostop needs --idle DURATION (e.g. --idle 30m), or --off');
    expect(() => settingFromFlags({ idle: '1m', down: false, off: true })).toThrow(/^--off takes no/);
  });

  it('the CLI refuses a bad duration in one line, exit 1, before touching anything (built CLI)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pcc-autostop-'));
    mkdirSync(path.join(dir, 'config'));
    try {
      for (const args of [['autostop', 'all', '--idle', '5x'], ['acquire', 'local', '--autostop', 'soon', '--dry']]) {
        const r = pcc(['--project', dir, ...args], { HOME: dir });
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/--(idle 5x|autostop soon): give a duration such as 30m/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
