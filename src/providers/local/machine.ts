import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PccError } from '../../core/errors.js';

/** What nspawn needs to boot one host. */
export interface MachineSpec {
  name: string;
  /** The mounted overlay root. */
  root: string;
  netns: string;
  /** A real-filesystem dir for /var/lib/docker (overlayfs cannot hold docker's own overlays). */
  dockerDir: string;
  /** Extra binds, `host:container`, e.g. the controller's export and registry storage. */
  binds?: string[];
  /** Paths inside the host that get an empty tmpfs over what a bind brought in. */
  tmpfs?: string[];
  syscalls?: string[];
}

export function nspawnArgv(m: MachineSpec): string[] {
  return [
    'systemd-nspawn',
    '-q',
    '-b',
    '-D', m.root,
    // The machine name keys nspawn's files under /run/systemd/nspawn, so it must be unique on this
    // computer (two projects may both have an `init`); the hostname is the host's own name.
    '-M', m.netns,
    `--hostname=${m.name}`,
    `--network-namespace-path=/run/netns/${m.netns}`,
    // PID 1 here is not systemd, so there is no machined to register with.
    '--register=no',
    '--keep-unit',
    '--console=read-only',
    // Joining a netns grants no CAP_NET_ADMIN; dockerd and wireguard need it.
    '--capability=CAP_NET_ADMIN',
    '--system-call-filter=@keyring',
    ...(m.syscalls ?? []).map((s) => `--system-call-filter=${s}`),
    '--bind=/dev/net/tun',
    `--bind=${m.dockerDir}:/var/lib/docker`,
    ...(m.binds ?? []).map((b) => `--bind=${b}`),
    ...(m.tmpfs ?? []).map((t) => `--tmpfs=${t}`),
  ];
}

/**
 * A shell that moves itself into the machine's cgroups and then becomes nspawn,
 * so nspawn never runs a moment in the shared cgroup and its PID is the one we
 * record.
 */
export function inCgroupsArgv(cgroupDirs: string[], argv: string[]): string[] {
  const script = 'for f; do [ "$f" = -- ] && break; echo $$ > "$f"; shift; done; shift; exec "$@"';
  return ['sh', '-c', script, 'sh', ...cgroupDirs.map((d) => `${d}/cgroup.procs`), '--', ...argv];
}

/** A process pcc started and holds: whether it still runs, and how it ended. */
export interface Detached {
  pid: number;
  /**
   * Until it exits. Not isMachineProcess: while the wrapper sh exec's nspawn,
   * /proc/PID/cmdline reads empty for a moment (every exec passes through
   * it), and a boot that asked then took a starting machine for a dead one
   * and left it running.
   */
  running(): boolean;
  /** `exit 1`, `signal SIGKILL`: settles when node reaps the child, which can be a moment after /proc shows it a zombie. */
  ended: Promise<string>;
}

/** Start detached (its own session, output to `logFile`). */
export function startDetached(argv: string[], logFile: string): Detached {
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new PccError(`local: could not start ${argv[0]}; see ${logFile}`);
    let exited = false;
    const ended = new Promise<string>((resolve) =>
      child.on('exit', (code, signal) => {
        exited = true;
        resolve(signal ? `signal ${signal}` : `exit ${code}`);
      }),
    );
    return { pid, ended, running: () => !exited && isLiveProcess(pid) };
  } finally {
    closeSync(fd);
  }
}

/** In /proc and not a zombie. */
function isLiveProcess(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The PID still belongs to the nspawn that boots `root` (PIDs get reused) and it has not exited. */
export function isMachineProcess(pid: number | undefined, root: string): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('systemd-nspawn')) && argv.includes(root);
  } catch {
    return false;
  }
}

/** nspawn processes booting `root`, for hosts whose PID was never recorded (a crash mid-acquire). */
export function findMachineProcesses(root: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => isMachineProcess(pid, root));
}

/**
 * SIGTERM makes nspawn send the booted container's systemd SIGRTMIN+3, an
 * orderly shutdown; nspawn exits when it is done. SIGKILL after `timeoutMs`.
 */
export async function stopMachine(pid: number, root: string, timeoutMs = 20_000): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isMachineProcess(pid, root)) return 'gone';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isMachineProcess(pid, root)) return 'stopped';
    await sleep(50);
  }
  // The container's init is nspawn's child; killing it takes its whole PID namespace down.
  for (const child of childPids(pid)) signal(child, 'SIGKILL');
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 100 && isMachineProcess(pid, root); i++) await sleep(50);
  return 'killed';
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Wait until sshd sends its banner on address:port. A plain TCP read: the
 * provider reports hosts, the core does SSH. Fails early if nspawn exited.
 */
export async function waitForSshBanner(
  address: string,
  port: number,
  options: { timeoutMs: number; alive: () => boolean; what: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await readsSshBanner(address, port, 1000)) return;
    if (!options.alive()) throw new PccError(`local: ${options.what} stopped while booting`);
    await sleep(100);
  }
  throw new PccError(`local: ${options.what} did not answer on ${address}:${port} within ${options.timeoutMs / 1000} s`);
}

export function readsSshBanner(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) done(data.startsWith('SSH-'));
    });
    socket.on('error', () => done(false));
    socket.on('end', () => done(data.startsWith('SSH-')));
  });
}
