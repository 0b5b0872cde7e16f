import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PccError } from '../../core/errors.js';
import { writeOwnedFile } from '../../core/files.js';
import { overlayDirs, type Machine } from './bookkeeping.js';
import { createCgroups, killCgroupProcesses, machineCgroupDirs, removeCgroups } from './cgroups.js';
import { run, runAll } from './exec.js';
import { generateHostKey } from './keys.js';
import {
  findMachineProcesses,
  inCgroupsArgv,
  isMachineProcess,
  nspawnArgv,
  startDetached,
  stopMachine,
  waitForSshBanner,
  type MachineSpec,
} from './machine.js';
import { isMounted, overlayMountArgv, unmountBelow } from './mounts.js';
import {
  createBridgeArgvs,
  createCloudBridgeArgvs,
  createHostNetworkArgvs,
  createRouterArgvs,
  deleteBridgeArgv,
  deleteHostNetworkArgvs,
  deleteRouterArgvs,
  linkExists,
  netnsExists,
  routerHomeAddress,
  routerVeths,
  type Sites,
} from './network.js';
import { dockerDaemonConfig } from './recipe.js';

/**
 * One machine's steps, each safe to repeat: resuming after a crash or after
 * this computer rebooted (which empties /run) walks the same path as a
 * first boot and skips what is already there.
 */
/** Both segments and the router between them; a half-made router (a kill mid-way) is made again. */
export async function ensureSites(s: Sites): Promise<void> {
  if (!linkExists(s.homeBridge)) await runAll(createBridgeArgvs(s.homeBridge, s.home));
  if (!linkExists(s.cloudBridge)) await runAll(createCloudBridgeArgvs(s.cloudBridge, s.cloud));
  const veth = routerVeths(s.router);
  if (netnsExists(s.router) && linkExists(veth.home) && linkExists(veth.cloud)) return;
  await runAll(deleteRouterArgvs(s), { allowFail: true });
  await runAll(createRouterArgvs(s));
}

/** Returns one line per thing removed. */
export async function removeSites(s: Pick<Sites, 'homeBridge' | 'cloudBridge' | 'router'>): Promise<string[]> {
  const removed: string[] = [];
  if (netnsExists(s.router)) removed.push(`router namespace ${s.router}`);
  await runAll(deleteRouterArgvs(s), { allowFail: true });
  for (const bridge of [s.homeBridge, s.cloudBridge]) {
    if (!linkExists(bridge)) continue;
    await run(deleteBridgeArgv(bridge));
    removed.push(`bridge ${bridge}`);
  }
  return removed;
}

/**
 * Makes the machine's netns and veth, or finds them complete. A network a
 * kill interrupted (host0 down or without its address) is made again; the
 * return value then says what was wrong, for a line to the user.
 */
export async function ensureHostNetwork(m: Machine, s: Sites): Promise<{ repaired?: string }> {
  let repaired: string | undefined;
  if (netnsExists(m.netns) && linkExists(m.veth)) {
    repaired = await halfMadeNetwork(m);
    if (!repaired) return {};
  }
  await runAll(deleteHostNetworkArgvs(m), { allowFail: true });
  const cloud = m.site === 'cloud';
  await runAll(
    createHostNetworkArgvs({
      netns: m.netns,
      veth: m.veth,
      address: m.address,
      prefix: (cloud ? s.cloud : s.home).prefix,
      bridge: cloud ? s.cloudBridge : s.homeBridge,
      ...(cloud ? {} : { gateway: routerHomeAddress(s.home) }),
    }),
  );
  return repaired ? { repaired } : {};
}

/** What the last steps of createHostNetworkArgvs left undone, if anything. */
async function halfMadeNetwork(m: Machine): Promise<string | undefined> {
  const inNs = (args: string[]) => run(['ip', '-n', m.netns, ...args], { allowFail: true });
  if (!(await inNs(['-o', '-4', 'addr', 'show', 'dev', 'host0'])).includes(` ${m.address}/`)) return 'host0 had no address';
  if (!/<[^>]*\bUP\b[^>]*>/.test(await inNs(['-o', 'link', 'show', 'dev', 'host0']))) return 'host0 was down';
  if (m.site !== 'cloud' && (await inNs(['route', 'show', 'default'])).trim() === '') return 'it had no default route';
  const forwarding = await run(['ip', 'netns', 'exec', m.netns, 'sysctl', '-n', 'net.ipv4.ip_forward'], { allowFail: true });
  if (forwarding.trim() !== '1') return 'its forwarding was off';
  return undefined;
}

export async function ensureRootMounted(m: Machine): Promise<void> {
  const dirs = overlayDirs(m);
  if (isMounted(dirs.merged)) return;
  for (const d of [dirs.upper, dirs.work, dirs.merged, path.join(m.dir, 'docker')]) await mkdir(d, { recursive: true, mode: 0o755 });
  await run(overlayMountArgv(dirs));
}

export interface FirstBootFiles {
  name: string;
  /** The user's public key, authorized for root. */
  publicKey: string;
  /** Subnets dockerd trusts as plain-HTTP registries (the local net and the overlay). */
  insecureRegistries: string[];
}

/** Written into the mounted root (so overlayfs keeps the base's ownership and modes of parent dirs). Returns the host key line. */
export async function writeFirstBootFiles(m: Machine, f: FirstBootFiles): Promise<string> {
  const root = m.root;
  await writeOwnedFile(path.join(root, 'etc/hostname'), `${f.name}\n`);
  await writeOwnedFile(
    path.join(root, 'etc/hosts'),
    `127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n${m.address}\t${f.name}\n`,
  );
  await writeOwnedFile(path.join(root, 'etc/docker/daemon.json'), `${JSON.stringify(dockerDaemonConfig(f.insecureRegistries), null, 2)}\n`);
  await mkdir(path.join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await writeOwnedFile(path.join(root, 'root/.ssh/authorized_keys'), `${f.publicKey}\n`, { mode: 0o600 });
  return generateHostKey(root, f.name);
}

export type BootExtras = Pick<MachineSpec, 'binds' | 'tmpfs' | 'syscalls'>;

export interface Booted {
  pid: number;
  startedAt: string;
  cgroups: string[];
}

/**
 * Start nspawn in the machine's own cgroups and wait for sshd's banner.
 * `onStarted` runs as soon as the PID exists, so the caller can record it
 * before waiting (a crash while waiting then leaves nothing untracked).
 */
export async function boot(
  name: string,
  m: Machine,
  extras: BootExtras,
  options: { timeoutMs: number; onStarted?: (b: Booted) => Promise<void> },
): Promise<Booted> {
  const cgroups = machineCgroupDirs(m.netns);
  // Leftovers of a machine whose nspawn died must not answer in its place.
  const stale = [...new Set([...m.cgroups, ...cgroups])];
  const log = path.join(m.dir, 'console.log');
  await killCgroupProcesses(stale);
  await removeCgroups(stale);
  await createCgroups(cgroups);
  const logSize = (await stat(log).catch(() => undefined))?.size ?? 0;
  const argv = nspawnArgv({ name, root: m.root, netns: m.netns, dockerDir: path.join(m.dir, 'docker'), ...extras });
  const started = startDetached(inCgroupsArgv(cgroups, argv), log);
  const booted = { pid: started.pid, startedAt: new Date().toISOString(), cgroups };
  await options.onStarted?.(booted);
  try {
    await waitForSshBanner(m.address, 22, { timeoutMs: options.timeoutMs, alive: started.running, what: `${name} (see ${log})` });
    return booted;
  } catch (err) {
    // Seen dead in /proc, it may not be reaped yet; a short wait gets how it ended.
    const ended = started.running() ? undefined : await endedWithin(started.ended, 2000);
    // The console's last words usually say why; the log itself may be gone by the time anyone looks.
    const said = ((await readFile(log).catch(() => undefined))?.subarray(logSize).toString('utf8') ?? '').trim();
    const tail = said.split('\n').filter(Boolean).slice(-3).join(' / ');
    const how = ended ? ` (nspawn ended: ${ended})` : '';
    throw new PccError(`${(err as Error).message}${how}${tail ? `: ${tail}` : ''}`);
  }
}

/**
 * Power off (if running) and take down what only a running machine needs:
 * its process, cgroups, mounted root and network. The disk (upper dir and
 * docker dir) stays. Returns one line per thing removed.
 */
export async function powerOff(name: string, m: Machine): Promise<string[]> {
  const removed: string[] = [];
  const pids = new Set(findMachineProcesses(m.root));
  if (m.pid !== undefined && isMachineProcess(m.pid, m.root)) pids.add(m.pid);
  for (const pid of pids) {
    const how = await stopMachine(pid, m.root);
    if (how !== 'gone') removed.push(`machine ${name} (pid ${pid}, ${how})`);
  }
  const cgroups = [...new Set([...m.cgroups, ...machineCgroupDirs(m.netns)])];
  const leftovers = await killCgroupProcesses(cgroups);
  if (leftovers > 0) removed.push(`${leftovers} leftover processes of ${name}`);
  await removeCgroups(cgroups);
  await removeNspawnLocks(m.root, m.netns);
  if (existsSync(m.root)) {
    await unmountBelow(m.root);
    await rmdir(m.root).catch(() => undefined);
    removed.push(`root mount ${m.root}`);
  }
  if (netnsExists(m.netns) || linkExists(m.veth)) {
    await runAll(deleteHostNetworkArgvs(m), { allowFail: true });
    removed.push(`network namespace ${m.netns}`);
  }
  return removed;
}

/**
 * nspawn locks the image with two files, removed when it exits normally but
 * left behind when it was killed, and keeps a mount-propagation dir per
 * machine name. Called once it is gone, with the root still mounted (one lock
 * is named by the root's device and inode).
 */
async function removeNspawnLocks(root: string, machineName: string): Promise<void> {
  await rm(`/run/systemd/nspawn/propagate/${machineName}`, { recursive: true, force: true });
  const st = await stat(root).catch(() => undefined);
  if (st) await rm(`/run/systemd/nspawn/locks/inode-${st.dev}:${st.ino}`, { force: true });
  await rm(path.join(path.dirname(root), `.#${path.basename(root)}.lck`), { force: true });
}

/** Power off and delete the disk too. */
export async function removeMachine(name: string, m: Machine): Promise<string[]> {
  const removed = await powerOff(name, m);
  if (existsSync(m.dir)) {
    // Mounts below the disk (none expected) must go before rm -rf walks into them.
    await unmountBelow(m.dir);
    await rm(m.dir, { recursive: true, force: true });
    removed.push(`disk ${m.dir}`);
  }
  return removed;
}

/** How the process ended, if it does within `ms`; the timer goes with the answer, so it holds up no exit. */
async function endedWithin(ended: Promise<string>, ms: number): Promise<string | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([ended, sleep(ms, undefined, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}
