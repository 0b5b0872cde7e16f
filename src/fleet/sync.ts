import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import pLimit from 'p-limit';
import { UserInputError } from '../core/errors.js';
import { onInterrupt } from '../core/interrupt.js';
import type { Progress } from '../core/progress.js';
import type { Project } from '../core/project.js';
import { sshAliasFor } from '../sshconfig/index.js';
import { userConfigFile } from '../sshconfig/paths.js';
import type { HostRecord } from '../state/schema.js';

/**
 * `pcc sync up|down`: rsync over pcc's own ssh config, so each host's alias,
 * key and known_hosts apply exactly as for `ssh <alias>`. OpenSSH reads the
 * config of the passwd home, not $HOME, so the file is always passed with -F.
 */

/** Where a sync goes on a host when no REMOTE_DIR is given: `~/project` of the login user (`/project` is the controller's NFS share on set-up hosts). */
export const DEFAULT_REMOTE_DIR = 'project';

/** Never leave this machine, whatever .pccignore says: pcc's state and keys, and the secrets file. */
export const ALWAYS_EXCLUDED = ['.pcc/', 'config/.private'] as const;

export const IGNORE_FILE = '.pccignore';

export interface RsyncStats {
  /** Regular files rsync sent or would send. */
  files: number;
  /** Their size in bytes ("Total transferred file size"). */
  bytes: number;
  /** Bytes on the wire each way. */
  bytesSent: number;
  bytesReceived: number;
}

const STAT_LINES: Record<keyof RsyncStats, RegExp> = {
  files: /^Number of regular files transferred:\s*([\d.,]+)/m,
  bytes: /^Total transferred file size:\s*([\d.,]+)/m,
  bytesSent: /^Total bytes sent:\s*([\d.,]+)/m,
  bytesReceived: /^Total bytes received:\s*([\d.,]+)/m,
};

/**
 * The figures of rsync's `--stats` block. Numbers may carry thousands
 * separators (rsync's default `-h` level 1 writes `10,485,760`); `--no-h`
 * writes plain digits. A block without them is an error, not zeros.
 */
export function parseRsyncStats(output: string): RsyncStats {
  const out = {} as RsyncStats;
  for (const [key, re] of Object.entries(STAT_LINES) as [keyof RsyncStats, RegExp][]) {
    const m = re.exec(output);
    if (!m) throw new Error(`rsync --stats output has no "${re.source.slice(1).split(':')[0]}" line`);
    out[key] = Number(m[1]!.replace(/[.,]/g, ''));
  }
  return out;
}

export interface SyncRequest {
  direction: 'up' | 'down';
  hosts: readonly HostRecord[];
  /** Absolute. up: what is sent; down: where it lands (one subfolder per host when there are several). */
  localDir: string;
  remoteDir: string;
  dry: boolean;
  concurrency: number;
}

export interface SyncOutcome extends RsyncStats {
  host: string;
  /** Where this host's files came from or went on this machine. */
  localDir: string;
  remoteDir: string;
  /** What rsync moved (or, with --dry, would move): rsync's itemized line per path. */
  changes: string[];
  unreachable: boolean;
  error?: string;
}

/** The paths under `root` that go up: everything but the always-excluded and what `.pccignore` (gitignore syntax) ignores. */
export async function filesToSend(root: string): Promise<string[]> {
  const rules = await ignoreRules(root);
  const out: string[] = [];
  await walk(root, '', rules, out);
  return out;
}

/** The always-excluded paths and the `.pccignore` of `root`, if it has one. */
async function ignoreRules(root: string): Promise<Ignore> {
  const rules = ignore().add(ALWAYS_EXCLUDED as unknown as string[]);
  const file = path.join(root, IGNORE_FILE);
  if (!existsSync(file)) return rules;
  if (!statSync(file).isFile()) throw new UserInputError(`${file} is not a file; ${IGNORE_FILE} holds gitignore lines: remove the folder, or make it a file`);
  rules.add(await readFile(file, 'utf8'));
  return rules;
}

/**
 * What of a listing (rsync's `%n`: relative paths, directories ending in `/`)
 * may come down: the same rules as going up. A path under an ignored folder
 * stays ignored, as in git.
 */
export function keptPaths(listed: readonly string[], rules: Ignore): string[] {
  const droppedDirs: string[] = [];
  const out: string[] = [];
  for (const entry of listed) {
    if (entry === './' || entry === '') continue;
    const isDir = entry.endsWith('/');
    const p = isDir ? entry.slice(0, -1) : entry;
    if (droppedDirs.some((d) => p.startsWith(`${d}/`))) continue;
    if (rules.ignores(isDir ? `${p}/` : p)) {
      if (isDir) droppedDirs.push(p);
      continue;
    }
    out.push(p);
  }
  return out;
}

/** Going down, the `.pccignore` of LOCAL_DIR, or of the project folder when LOCAL_DIR has none. */
export async function filesToFetch(localRoot: string, projectRoot: string, listed: readonly string[]): Promise<string[]> {
  const root = existsSync(path.join(localRoot, IGNORE_FILE)) ? localRoot : projectRoot;
  return keptPaths(listed, await ignoreRules(root));
}

async function walk(root: string, rel: string, rules: Ignore, out: string[]): Promise<void> {
  const entries = await readdir(path.join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (rules.ignores(`${p}/`)) continue;
      out.push(p);
      await walk(root, p, rules, out);
    } else if (!rules.ignores(p)) {
      out.push(p);
    }
  }
}

/** Checks the request before anything moves: one line naming what is wrong and the fix. */
export async function planSync(
  project: Project,
  request: Omit<SyncRequest, 'localDir'> & { localDir?: string },
): Promise<{ request: SyncRequest; aliases: Map<string, string> }> {
  const localDir = path.resolve(project.root, request.localDir ?? '.');
  if (request.direction === 'up') {
    if (!existsSync(localDir) || !statSync(localDir).isDirectory()) {
      throw new UserInputError(`LOCAL_DIR ${localDir} is not a folder; give an existing folder to send (default: the project folder)`);
    }
  } else if (existsSync(localDir) && !statSync(localDir).isDirectory()) {
    throw new UserInputError(`LOCAL_DIR ${localDir} is a file; give a folder to write into`);
  }
  if (request.remoteDir.length === 0 || request.remoteDir.includes('\n')) {
    throw new UserInputError(`REMOTE_DIR '${request.remoteDir}' is not a path; give a folder on the hosts, e.g. /srv/data`);
  }
  const aliases = new Map<string, string>();
  for (const h of request.hosts) {
    const alias = await sshAliasFor(project, h.name);
    if (!alias) throw new UserInputError(`host ${h.name} has no ssh alias in ${userConfigFile(project)}; run pcc setup ${h.name} (or pcc acquire) to write it`);
    aliases.set(h.name, alias);
  }
  return { request: { ...request, localDir }, aliases };
}

/** Runs rsync for every host, in parallel up to `concurrency`. One host failing never stops the others. */
export async function syncHosts(project: Project, planned: { request: SyncRequest; aliases: Map<string, string> }, progress: Progress): Promise<SyncOutcome[]> {
  const { request, aliases } = planned;
  const several = request.hosts.length > 1;
  const sendList = request.direction === 'up' ? await filesToSend(request.localDir) : undefined;
  const limit = pLimit(request.concurrency);
  return Promise.all(
    request.hosts.map((h) =>
      limit(async (): Promise<SyncOutcome> => {
        const alias = aliases.get(h.name)!;
        const localDir = request.direction === 'down' && several ? path.join(request.localDir, h.name) : request.localDir;
        const remote = `${alias}:${request.remoteDir.replace(/\/*$/, '')}/`;
        const argv = rsyncArgv(project, request.dry);
        argv.push('--files-from=-', '--from0');
        if (request.direction === 'up') argv.push(`${localDir}/`, remote);
        else argv.push(remote, `${localDir}/`);
        progress.host(h.name, `${request.dry ? 'would sync' : 'syncing'} ${request.direction === 'up' ? `${localDir} -> ${remote}` : `${remote} -> ${localDir}`}`);
        const base = { host: h.name, localDir, remoteDir: request.remoteDir };
        const fail = (code: number, stderr: string): SyncOutcome => {
          const error = rsyncFailure(code, stderr);
          progress.host(h.name, error, 'failed');
          return { ...base, files: 0, bytes: 0, bytesSent: 0, bytesReceived: 0, changes: [], unreachable: code === 255, error };
        };
        let paths = sendList;
        if (!paths) {
          // Down: what the host has, listed first, so .pccignore applies exactly as going up.
          const listing = await runRsync(listArgv(project, remote), undefined);
          if (listing.code !== 0) return fail(listing.code, listing.stderr);
          const listed = listing.stdout.split('\n').filter((l) => l.startsWith(ITEM_MARK)).map((l) => l.slice(ITEM_MARK.length));
          paths = await filesToFetch(request.localDir, project.root, listed);
        }
        const run = await runRsync(argv, Buffer.from(paths.map((p) => `${p}\0`).join('')));
        if (run.code !== 0) return fail(run.code, run.stderr);
        const stats = parseRsyncStats(run.stdout);
        const changes = run.stdout.split('\n').filter((l) => l.startsWith(ITEM_MARK)).map((l) => l.slice(ITEM_MARK.length));
        progress.host(h.name, `${request.dry ? 'would move' : 'moved'} ${stats.files} files, ${stats.bytes} bytes`, 'ok');
        return { ...base, ...stats, changes, unreachable: false };
      }),
    ),
  );
}

/** Marks rsync's per-path lines apart from the --stats block. */
const ITEM_MARK = 'pcc-item ';

function rsyncArgv(project: Project, dry: boolean): string[] {
  const ssh = ['ssh', '-F', userConfigFile(project), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20'].map(rsyncShellWord).join(' ');
  return [
    '-a',
    '--stats',
    '--no-human-readable',
    `--out-format=${ITEM_MARK}%i %n%L`,
    '--mkpath',
    ...(dry ? ['--dry-run'] : []),
    '-e',
    ssh,
  ];
}

/** Every path under the remote folder, one `%n` per line (a dry run against nothing: the list-only run of rsync). */
function listArgv(project: Project, remote: string): string[] {
  return [...rsyncArgv(project, true).filter((a) => a !== '--stats' && !a.startsWith('--out-format=')), `--out-format=${ITEM_MARK}%n`, remote, '/nonexistent/pcc-sync-listing/'];
}

/** rsync splits -e on spaces and honours quotes. */
function rsyncShellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * One line for a failed rsync. rsync prints the cause first and its
 * consequences after it ("write error: Broken pipe", "some files/attrs were
 * not transferred"), so its first line that is not that summary is the one to
 * show (ssh's own, when the connection failed). A folder the host does not
 * have is said in pcc's words.
 */
export function rsyncFailure(code: number, stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const cause = lines.find((l) => !l.startsWith('rsync error: ')) ?? lines.at(-1) ?? 'no message';
  const missing = /change_dir "(.*)" failed: (.+?) \(\d+\)$/.exec(cause);
  if (missing) return `${missing[1]} is not a folder there (${missing[2]}); REMOTE_DIR names a folder, e.g. the one that holds the file`;
  return `rsync exit ${code}: ${cause.replace(/^rsync: /, '')}`;
}

function runRsync(argv: string[], stdin: Buffer | undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('rsync', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stop = onInterrupt(async () => {
      child.kill('SIGTERM');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      stop();
      reject(new UserInputError(`cannot run rsync (${err.message}); install rsync on this machine`));
    });
    child.on('close', (code) => {
      stop();
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}
