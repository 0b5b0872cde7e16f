import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AGENT_COUNTS,
  agentConfig,
  agentScript,
  CGROUP_CPU_COMMAND,
  CPU_STAT_NS,
  CPUACCT_USAGE,
  cpusBusy,
  OWN_CGROUP_V1_PATTERN,
  OWN_CGROUP_V2_PATTERN,
  ownCgroup,
  parseCgroupCpu,
  parseCpuStat,
  parseLoadAverage,
} from '../../../src/autostop/agent.js';
import { AUTOSTOP_RUN_DIR } from '../../../src/autostop/heard.js';

const fixtures = path.join(import.meta.dirname, '../../fixtures/autostop');
const fixture = (name: string) => readFileSync(path.join(fixtures, name), 'utf8');
const inSh = (pipeline: string, input: string) => execFileSync('sh', ['-c', pipeline], { input, encoding: 'utf8' }).trim();
const grepMatches = (pattern: string, input: string) => spawnSync('grep', ['-qE', pattern], { input }).status === 0;

describe('item 10: autostop on a local host reads its own cgroup CPU use, not the machine load (recorded outputs, test/fixtures/autostop/README.md)', () => {
  it("/proc/1/cgroup: the recorded nspawn host sits at the root of its own cpuacct cgroup; co-mounted cpu,cpuacct and v2 alone too; a host outside a cgroup namespace does not (the agent's grep agrees)", () => {
    const cases: [string, 'v1' | 'v2' | undefined][] = [
      ['proc-1-cgroup-nspawn.txt', 'v1'],
      ['proc-1-cgroup-comounted.txt', 'v1'],
      ['proc-1-cgroup-v2.txt', 'v2'],
      ['proc-1-cgroup-no-cgroupns.txt', undefined],
    ];
    for (const [file, want] of cases) {
      expect(ownCgroup(fixture(file)), file).toBe(want);
      expect(grepMatches(OWN_CGROUP_V1_PATTERN, fixture(file)), file).toBe(want === 'v1');
      if (want !== 'v1') expect(grepMatches(OWN_CGROUP_V2_PATTERN, fixture(file)), file).toBe(want === 'v2');
    }
  });

  it('CPUs busy between two recorded cpuacct.usage readings 10 s apart: idle 0.01 and a busy loop 0.84, while the machine load read at the same time was 7.12 (the parser and the agent\'s awk agree)', () => {
    const read = (f: string) => parseCgroupCpu(fixture(f))!;
    const idle = cpusBusy({ at: 1000, ns: read('cpuacct-usage-idle-0s.txt') }, { at: 1010, ns: read('cpuacct-usage-idle-10s.txt') });
    const busy = cpusBusy({ at: 1000, ns: read('cpuacct-usage-busy-0s.txt') }, { at: 1010, ns: read('cpuacct-usage-busy-10s.txt') });
    expect([idle, busy]).toEqual([0.01, 0.84]);
    expect(inSh(AGENT_COUNTS.cpu, `1000 ${read('cpuacct-usage-idle-0s.txt')}\n1010 ${read('cpuacct-usage-idle-10s.txt')}\n`)).toBe('0.01');
    expect(inSh(AGENT_COUNTS.cpu, `1000 ${read('cpuacct-usage-busy-0s.txt')}\n1010 ${read('cpuacct-usage-busy-10s.txt')}\n`)).toBe('0.84');
    expect(parseLoadAverage(fixture('loadavg-nspawn-busy-machine.txt'))).toBe(7.12);
    // No earlier reading, or a counter that went back (a new cgroup): no figure, in both.
    expect(cpusBusy(undefined, { at: 1010, ns: 5 })).toBeUndefined();
    expect(inSh(AGENT_COUNTS.cpu, '1010 5\n')).toBe('');
    expect(cpusBusy({ at: 1000, ns: 9 }, { at: 1010, ns: 5 })).toBeUndefined();
    expect(inSh(AGENT_COUNTS.cpu, '1000 9\n1010 5\n')).toBe('');
    expect(() => parseCgroupCpu('max\n')).toThrow(/unreadable cgroup CPU counter/);
    expect(parseCgroupCpu('')).toBeUndefined();
  });

  it("cgroup v2's cpu.stat (recorded from the host's unified hierarchy) in nanoseconds, by the parser and the agent's awk", () => {
    expect(parseCpuStat(fixture('cpu-stat.txt'))).toBe(13_143_893_000);
    expect(inSh(CPU_STAT_NS, fixture('cpu-stat.txt'))).toBe('13143893000');
  });

  it('the command, exactly: only inside a container, only at the root of its own cgroup', () => {
    expect(CGROUP_CPU_COMMAND).toBe(
      [
        'if systemd-detect-virt --container --quiet 2>/dev/null; then',
        "  if grep -qE '^[0-9]+:([^:]*,)?cpuacct(,[^:]*)?:/$' /proc/1/cgroup && [ -r /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then cat /sys/fs/cgroup/cpuacct/cpuacct.usage;",
        "  elif grep -qE '^0::/(init\\.scope)?$' /proc/1/cgroup && [ -r /sys/fs/cgroup/cpu.stat ]; then awk '$1 == \"usage_usec\" { printf \"%.0f\\n\", $2 * 1000 }' /sys/fs/cgroup/cpu.stat;",
        '  fi',
        'fi',
      ].join('\n'),
    );
  });
});

/*
 * The whole agent script in real sh, its paths pointed at a temp dir holding
 * the recorded files, with stand-ins on the PATH for what it asks the system:
 * systemd-detect-virt (a container or not), date (the check's time), nproc
 * (2 CPUs, as the recording machine), docker and ps (nothing running) and
 * systemctl (records a poweroff instead of doing it).
 */
describe("item 10: the agent script's checks on recorded readings", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-agent-cpu-'));
    mkdirSync(path.join(dir, 'bin'));
    mkdirSync(path.join(dir, 'run'));
    const stub = (name: string, body: string) => {
      writeFileSync(path.join(dir, 'bin', name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(dir, 'bin', name), 0o755);
    };
    stub('date', `cat ${dir}/now`);
    stub('nproc', 'echo 2');
    stub('docker', 'exit 0');
    stub('ps', 'exit 0');
    stub('systemctl', `echo "$*" >> ${dir}/systemctl`);
    stub('systemd-detect-virt', `[ -f ${dir}/container ] && exit 0; exit 1`);
    writeFileSync(path.join(dir, 'autostop.conf'), agentConfig({ idleMinutes: 60, down: false }, { checkSeconds: 10, loadPerCpu: 0.5 }));
    copyFileSync(path.join(fixtures, 'proc-1-cgroup-nspawn.txt'), path.join(dir, 'proc-1-cgroup'));
    copyFileSync(path.join(fixtures, 'loadavg-nspawn-busy-machine.txt'), path.join(dir, 'loadavg'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  // After the config was written: the agent counts idle time from the later of the two.
  const t0 = Math.floor(Date.now() / 1000) + 5;

  /** One check at `now` with the counter at `usage`; the agent's state file as key=value pairs. */
  const check = (now: number, usage: string) => {
    writeFileSync(path.join(dir, 'now'), `${now}\n`);
    writeFileSync(path.join(dir, 'cpuacct.usage'), usage);
    const script = agentScript()
      .replaceAll('/etc/pcc/autostop.conf', path.join(dir, 'autostop.conf'))
      .replaceAll(AUTOSTOP_RUN_DIR, path.join(dir, 'run'))
      .replaceAll('/proc/1/cgroup', path.join(dir, 'proc-1-cgroup'))
      .replaceAll(CPUACCT_USAGE, path.join(dir, 'cpuacct.usage'))
      .replaceAll('/proc/loadavg', path.join(dir, 'loadavg'));
    execFileSync('sh', ['-c', script], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
    return Object.fromEntries(
      readFileSync(path.join(dir, 'run/state'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  };

  it('a local host idle on a busy machine (load 7.12 on 2 CPUs) counts idle by its own cgroup', () => {
    writeFileSync(path.join(dir, 'container'), '');
    expect(check(t0, fixture('cpuacct-usage-idle-0s.txt')).busy).toBe('');
    const second = check(t0 + 10, fixture('cpuacct-usage-idle-10s.txt'));
    expect(second.busy).toBe('');
    expect(second.last_busy).toBe(String(t0));
    expect(readFileSync(path.join(dir, 'run/cpu'), 'utf8')).toBe(`${t0 + 10} ${fixture('cpuacct-usage-idle-10s.txt').trim()}\n`);
  });

  it('a local host running a busy loop (0.84 CPUs) counts busy above 0.25 per CPU, named by its own CPU use: cpu=0.84', () => {
    writeFileSync(path.join(dir, 'container'), '');
    writeFileSync(path.join(dir, 'autostop.conf'), agentConfig({ idleMinutes: 60, down: false }, { checkSeconds: 10, loadPerCpu: 0.25 }));
    check(t0, fixture('cpuacct-usage-busy-0s.txt'));
    const second = check(t0 + 10, fixture('cpuacct-usage-busy-10s.txt'));
    expect(second.busy).toBe('cpu=0.84');
    expect(second.last_busy).toBe(String(t0 + 10));
  });

  it('a host with its own kernel (not a container) still reads the load average: busy (load=7.12)', () => {
    const state = check(t0, fixture('cpuacct-usage-idle-0s.txt'));
    expect(state.busy).toBe('load=7.12');
  });
});
