import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';

/**
 * Without registration (`--register=no`, since PID 1 here is not systemd),
 * nspawn stays in its parent's cgroups, and every host's systemd would manage
 * the same v1 cgroups: their units collide. So each machine first gets its own
 * cgroup, below ours, in every hierarchy.
 */
interface CgroupMount {
  /** Controllers for v1 (`cpu`, `name=systemd`), empty for the v2 hierarchy. */
  controllers: string[];
  root: string;
  mountPoint: string;
}

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype === 'cgroup2') mounts.push({ controllers: [], root: f[3]!, mountPoint: f[4]! });
    else if (fstype === 'cgroup') {
      const opts = new Set(superOpts.split(','));
      const controllers = [...opts].filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr');
      mounts.push({ controllers, root: f[3]!, mountPoint: f[4]! });
    }
  }
  return mounts;
}

/** The directories of a child cgroup `leaf` below the current process's cgroups, one per mounted hierarchy. */
export function childCgroupDirs(leaf: string, procCgroup: string, mountinfo: string): string[] {
  const mounts = parseCgroupMounts(mountinfo);
  const dirs: string[] = [];
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const wanted = m[2] === '' ? [] : m[2]!.split(',');
    const mount = mounts.find((mt) =>
      wanted.length === 0 ? mt.controllers.length === 0 : wanted.every((c) => mt.controllers.includes(c)),
    );
    if (!mount) continue;
    const rel = path.posix.relative(mount.root, m[3]!);
    if (rel.startsWith('..')) continue;
    dirs.push(path.posix.join(mount.mountPoint, rel, leaf));
  }
  return dirs;
}

export function machineCgroupDirs(leaf: string): string[] {
  return childCgroupDirs(leaf, readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** Create the cgroups; a v1 cpuset child starts empty and refuses tasks until it inherits cpus and mems. */
export async function createCgroups(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    await mkdir(dir, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(dir, file);
      if (!existsSync(own) || (await readFile(own, 'utf8')).trim() !== '') continue;
      await writeFile(own, await readFile(path.join(path.dirname(dir), file), 'utf8'));
    }
  }
}

/** Remove the cgroups and what the host's systemd made below them (all empty once it stopped). */
export async function removeCgroups(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (const d of subdirsDeepestFirst(dir)) await rmdir(d).catch(() => undefined);
  }
}

function subdirsDeepestFirst(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return [...entries.filter((e) => e.isDirectory()).flatMap((e) => subdirsDeepestFirst(path.join(dir, e.name))), dir];
}

/** Every process in the cgroups or below them. */
export function cgroupProcesses(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    for (const d of subdirsDeepestFirst(dir)) {
      try {
        for (const p of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      } catch {
        // gone meanwhile
      }
    }
  }
  return [...pids];
}

/**
 * SIGKILL what is left of a machine in its cgroups. If nspawn itself was
 * killed, the host's systemd lives on as an orphan (with sshd still
 * answering); only the cgroups still know it belongs to this machine.
 */
export async function killCgroupProcesses(dirs: string[]): Promise<number> {
  const pids = cgroupProcesses(dirs);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 100 && cgroupProcesses(dirs).length > 0; i++) await sleep(50);
  return pids.length;
}
