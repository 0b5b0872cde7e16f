import { defineFact } from '../facts/fact.js';
import { directory, file } from '../ops/files.js';
import type { Operation } from '../ops/operation.js';
import { service, systemdUnit } from '../ops/systemd.js';
import type { Settings } from '../settings/load.js';
import { AUTOSTOP_RUN_DIR, HEARD_FILE } from './heard.js';
import type { AutostopSetting } from './setting.js';

/**
 * The autostop agent pcc installs on a host: a systemd timer runs a small
 * POSIX sh script that decides from what the host sees whether it is idle
 * (SSH sessions, running containers, GPU utilisation, CPU load), keeps its
 * "last busy" time, and powers the host off (`systemctl poweroff`) when it
 * has been idle for the period, or when pcc has not talked to it for the
 * lease. Nothing is downloaded: the script and units are written by ops.
 */

/** The agent's tuning from the settings: tests shorten the check interval. */
export interface AgentTuning {
  checkSeconds: number;
  loadPerCpu: number;
}

export const DEFAULT_TUNING: AgentTuning = { checkSeconds: 60, loadPerCpu: 0.5 };

export function agentTuning(settings: Settings): AgentTuning {
  return { checkSeconds: settings.values.PCC_AUTOSTOP_CHECK_S, loadPerCpu: settings.values.PCC_AUTOSTOP_LOAD_PER_CPU };
}

/** Busy when any GPU's utilisation reaches this many percent. */
export const GPU_BUSY_PERCENT = 10;

export const AGENT_SCRIPT = '/etc/pcc/autostop.sh';
export const AGENT_CONFIG = '/etc/pcc/autostop.conf';
export const SERVICE_UNIT = 'pcc-autostop.service';
export const TIMER_UNIT = 'pcc-autostop.timer';

// The signals. Each is a command whose raw output a parser reads; the agent
// runs the same command and counts with the same pattern in sh.

/** An sshd session process: `sshd: root@notty`, `sshd: alice@pts/0`, OpenSSH 9.8+'s `sshd-session: ...`. */
export const SSH_SESSION_PATTERN = '^sshd(-session)?: [^ ]+@';

export const SSH_SESSIONS_COMMAND = 'ps -eo args= 2>/dev/null';
export const CONTAINERS_COMMAND = 'docker ps -q 2>/dev/null';
export const GPU_COMMAND = 'nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits 2>/dev/null';
export const LOAD_COMMAND = 'cat /proc/loadavg';

/*
 * CPU use of the host's own cgroup, where the host shares a kernel with
 * others (a local nspawn host, a container): there /proc/loadavg is the whole
 * machine's, so a host on a busy laptop would never count as idle. Such a host
 * sits at the root of its own cgroup namespace (nspawn moves it into its own
 * cgroup in every hierarchy), and its PID 1 says so in /proc/1/cgroup: then
 * the root of /sys/fs/cgroup is the host's own cgroup, and its counter is the
 * CPU time the host (docker's containers in it too) has used. The agent keeps
 * the last reading and counts CPUs busy as the counter's growth over the time
 * between checks. A host with its own kernel (EC2, Vagrant) keeps the load.
 */

/** cgroup v1: PID 1 at the root of the cpuacct hierarchy (alone, or co-mounted as cpu,cpuacct), so the root is the host's own. */
export const OWN_CGROUP_V1_PATTERN = '^[0-9]+:([^:]*,)?cpuacct(,[^:]*)?:/$';
/** cgroup v2 alone: PID 1 at the namespace's root, or in systemd's init.scope right below it. */
export const OWN_CGROUP_V2_PATTERN = '^0::/(init\\.scope)?$';
export const CPUACCT_USAGE = '/sys/fs/cgroup/cpuacct/cpuacct.usage';
export const CPU_STAT = '/sys/fs/cgroup/cpu.stat';
/** cgroup v2's cpu.stat in microseconds, as nanoseconds like cpuacct.usage. */
export const CPU_STAT_NS = "awk '$1 == \"usage_usec\" { printf \"%.0f\\n\", $2 * 1000 }'";

/**
 * Nanoseconds of CPU the host's own cgroup has used, or nothing where the
 * host has its own kernel or its cgroup is not its namespace's root.
 */
export const CGROUP_CPU_COMMAND = [
  'if systemd-detect-virt --container --quiet 2>/dev/null; then',
  `  if grep -qE '${OWN_CGROUP_V1_PATTERN}' /proc/1/cgroup && [ -r ${CPUACCT_USAGE} ]; then cat ${CPUACCT_USAGE};`,
  `  elif grep -qE '${OWN_CGROUP_V2_PATTERN}' /proc/1/cgroup && [ -r ${CPU_STAT} ]; then ${CPU_STAT_NS} ${CPU_STAT};`,
  '  fi',
  'fi',
].join('\n');

/** How the agent's sh turns each command's output into a number (the parsers below read the same output). */
export const AGENT_COUNTS = {
  sessions: `grep -cE '${SSH_SESSION_PATTERN}'`,
  containers: 'grep -c .',
  gpu: "awk 'BEGIN { m = 0 } /^[0-9]+$/ && $1 + 0 > m { m = $1 + 0 } END { print m }'",
  load: "awk '{ print $1 }'",
  /** Two readings of the cgroup counter, `EPOCH_S NS` each (the last check's, then this one's): CPUs busy in between; nothing at the first check or after a reset. */
  cpu: "awk 'NR == 1 { t = $1; u = $2 } NR == 2 && $1 > t && $2 >= u { printf \"%.2f\\n\", ($2 - u) / (($1 - t) * 1000000000) }'",
} as const;

export function parseSshSessions(psArgs: string): number {
  const re = new RegExp(SSH_SESSION_PATTERN);
  return psArgs.split('\n').filter((l) => re.test(l)).length;
}

export function parseContainers(dockerPsQ: string): number {
  return dockerPsQ.split('\n').filter((l) => /^[0-9a-f]{12,64}$/.test(l.trim())).length;
}

/** The highest utilisation of any GPU; `[N/A]` or `[Not Supported]` lines count as 0. No GPU: undefined. */
export function parseGpuUtilisation(csv: string): number | undefined {
  const values = csv
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => (/^\d+$/.test(l) ? Number(l) : 0));
  return values.length ? Math.max(...values) : undefined;
}

/** The cgroup counter's reading: nanoseconds of CPU (cpuacct.usage as it is, or what CPU_STAT_NS makes of cpu.stat); empty: the host has its own kernel. */
export function parseCgroupCpu(output: string): number | undefined {
  const text = output.trim();
  if (text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`unreadable cgroup CPU counter: ${JSON.stringify(text.slice(0, 60))}`);
  return Number(text);
}

/** cgroup v2's cpu.stat, as CPU_STAT_NS reads it: usage_usec in nanoseconds. */
export function parseCpuStat(cpuStat: string): number | undefined {
  const usec = /^usage_usec (\d+)$/m.exec(cpuStat)?.[1];
  return usec === undefined ? undefined : Number(usec) * 1000;
}

/** Whether /proc/1/cgroup puts the host at the root of its own cgroup (the agent's grep patterns). */
export function ownCgroup(procCgroup: string): 'v1' | 'v2' | undefined {
  const lines = procCgroup.split('\n');
  if (lines.some((l) => new RegExp(OWN_CGROUP_V1_PATTERN).test(l))) return 'v1';
  if (lines.some((l) => new RegExp(OWN_CGROUP_V2_PATTERN).test(l))) return 'v2';
  return undefined;
}

/** CPUs busy between two readings of the counter (AGENT_COUNTS.cpu); undefined without an earlier one, or when the counter went back. */
export function cpusBusy(before: { at: number; ns: number } | undefined, now: { at: number; ns: number }): number | undefined {
  if (!before || now.at <= before.at || now.ns < before.ns) return undefined;
  return Math.round(((now.ns - before.ns) / ((now.at - before.at) * 1e9)) * 100) / 100;
}

export function parseLoadAverage(loadavg: string): number {
  const first = loadavg.trim().split(/\s+/)[0] ?? '';
  const n = Number(first);
  if (!/^\d+(\.\d+)?$/.test(first) || !Number.isFinite(n)) throw new Error(`unreadable /proc/loadavg: ${JSON.stringify(loadavg.slice(0, 60))}`);
  return n;
}

export const sshSessions = defineFact<number>({ key: 'autostop:ssh-sessions', script: SSH_SESSIONS_COMMAND, parse: parseSshSessions });
export const runningContainers = defineFact<number>({ key: 'autostop:containers', script: CONTAINERS_COMMAND, parse: parseContainers });
export const gpuUtilisation = defineFact<number | undefined>({ key: 'autostop:gpu', script: `${GPU_COMMAND} || :`, parse: parseGpuUtilisation });
export const loadAverage = defineFact<number>({ key: 'autostop:load', script: LOAD_COMMAND, parse: parseLoadAverage });
export const cgroupCpu = defineFact<number | undefined>({ key: 'autostop:cgroup-cpu', script: CGROUP_CPU_COMMAND, parse: parseCgroupCpu });

/** The agent's config: plain `KEY=value` lines the script sources. */
export function agentConfig(setting: AutostopSetting, tuning: AgentTuning): string {
  return [
    '# pcc autostop (written by pcc; change it with pcc autostop)',
    `IDLE_S=${setting.idleMinutes * 60}`,
    `LEASE_S=${(setting.leaseMinutes ?? 0) * 60}`,
    `LOAD_PER_CPU=${tuning.loadPerCpu}`,
    `GPU_BUSY_PERCENT=${GPU_BUSY_PERCENT}`,
    `CHECK_S=${tuning.checkSeconds}`,
    '',
  ].join('\n');
}

/**
 * The check, run by the timer. Times are epoch seconds. "Last busy" lives
 * in /run (a boot starts the count again), as does the "heard" file pcc
 * touches; a config written later than either counts as both, so a new
 * setting starts a fresh period.
 */
export function agentScript(): string {
  return `#!/bin/sh
# pcc autostop agent (written by pcc): powers this host off when it has been
# idle for IDLE_S seconds, or when pcc has not talked to it for LEASE_S.
set -u
. ${AGENT_CONFIG}
D=${AUTOSTOP_RUN_DIR}
mkdir -p "$D"
now=$(date +%s)
# Root's alone: only pcc's session, as root, renews the lease (an older pcc left it writable by all).
[ -f ${HEARD_FILE} ] || : > ${HEARD_FILE}
chmod 0644 ${HEARD_FILE}
[ -f "$D/busy" ] || echo "$now" > "$D/busy"
conf=$(stat -c %Y ${AGENT_CONFIG})
sessions=$(${SSH_SESSIONS_COMMAND} | ${AGENT_COUNTS.sessions})
containers=$(${CONTAINERS_COMMAND} | ${AGENT_COUNTS.containers})
gpu=0
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu=$(${GPU_COMMAND} | ${AGENT_COUNTS.gpu})
fi
cpus=$(nproc 2>/dev/null || echo 1)
# Sharing a kernel (a local host): its own cgroup's CPU use since the last check, not the machine's load.
cpu_ns=$(
${CGROUP_CPU_COMMAND.replace(/^/gm, '  ')}
)
if [ -n "$cpu_ns" ]; then
  cpu=$({ cat "$D/cpu" 2>/dev/null; echo "$now $cpu_ns"; } | tail -n 2 | ${AGENT_COUNTS.cpu})
  echo "$now $cpu_ns" > "$D/cpu.tmp" && mv "$D/cpu.tmp" "$D/cpu"
  load_key=cpu
  load=\${cpu:-0}
else
  load_key=load
  load=$(${AGENT_COUNTS.load} /proc/loadavg)
fi
busy=""
[ "$sessions" -eq 0 ] || busy="$busy ssh=$sessions"
[ "$containers" -eq 0 ] || busy="$busy containers=$containers"
[ "$gpu" -lt "$GPU_BUSY_PERCENT" ] || busy="$busy gpu=$gpu%"
! awk -v l="$load" -v n="$cpus" -v t="$LOAD_PER_CPU" 'BEGIN { exit !(l > n * t) }' || busy="$busy $load_key=$load"
[ -z "$busy" ] || { echo "$now" > "$D/busy.tmp" && mv "$D/busy.tmp" "$D/busy"; }
last=$(cat "$D/busy")
heard=$(stat -c %Y ${HEARD_FILE})
[ "$last" -ge "$conf" ] || last=$conf
[ "$heard" -ge "$conf" ] || heard=$conf
why=""
[ $((now - last)) -lt "$IDLE_S" ] || why="idle for $((now - last)) s"
[ "$LEASE_S" -eq 0 ] || [ $((now - heard)) -lt "$LEASE_S" ] || why="no word from pcc for $((now - heard)) s (lease)"
printf 'checked=%s\\nlast_busy=%s\\nheard=%s\\nidle_s=%s\\nlease_s=%s\\ncheck_s=%s\\nbusy=%s\\nstopping=%s\\n' \\
  "$now" "$last" "$heard" "$IDLE_S" "$LEASE_S" "$CHECK_S" "\${busy# }" "$why" > "$D/state.tmp" && mv "$D/state.tmp" "$D/state"
if [ -n "$why" ]; then
  echo "pcc autostop: powering off: $why"
  systemctl poweroff
fi
`;
}

export function serviceUnit(): string {
  return ['[Unit]', 'Description=pcc autostop: power off when idle', '', '[Service]', 'Type=oneshot', `ExecStart=/bin/sh ${AGENT_SCRIPT}`, ''].join('\n');
}

export function timerUnit(tuning: AgentTuning): string {
  return [
    '[Unit]',
    'Description=pcc autostop: check whether this host is idle',
    '',
    '[Timer]',
    // The first check soon after the timer starts (the install, each boot), then every checkSeconds.
    'OnActiveSec=5s',
    `OnBootSec=${tuning.checkSeconds}s`,
    `OnUnitActiveSec=${tuning.checkSeconds}s`,
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** The agent on (a setting) or off (undefined: the timer stops, the files stay). */
export function autostopOps(setting: AutostopSetting | undefined, tuning: AgentTuning): Operation[] {
  if (!setting) return [service(TIMER_UNIT, { enabled: false, state: 'stopped' })];
  const config = file(AGENT_CONFIG, { content: agentConfig(setting, tuning), mode: '0644' });
  const script = file(AGENT_SCRIPT, { content: agentScript(), mode: '0755' });
  return [
    directory('/etc/pcc', { mode: '0755' }),
    config,
    script,
    systemdUnit(SERVICE_UNIT, { content: serviceUnit(), state: 'stopped' }),
    systemdUnit(TIMER_UNIT, { content: timerUnit(tuning), enabled: true, state: 'started' }),
  ];
}
