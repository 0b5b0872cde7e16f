import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../core/errors.js';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Project } from '../core/project.js';
import type { ProviderName } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { dropAliases, parseOwnFile, planAliases, renderProviderFile, type Claim } from './entries.js';
import { findInclude, includeDirective, prependLine, removeFirstLine } from './include.js';
import { forgetHostsLocked, hasEntries, parseKeyLines, setHostKeysLocked } from './known-hosts.js';
import { withSshLock } from './lock.js';
import { includePattern, knownHostsFile, providerConfigFile, sshConfigDir, undoRecordFile, userConfigFile } from './paths.js';
import { noteUndo, readUndo } from './undo.js';
import { userDefinedHosts } from './user-config.js';

export { hostAliases } from './entries.js';
export { checkHostKey, forgetHost, hostKeyStore, recordHostKey, type KeyVerdict } from './known-hosts.js';
export { knownHostsFile, sshConfigDir } from './paths.js';

export interface WrittenAliases {
  file: string;
  /** Every alias now in the file, e.g. local1 local-local1 cpu-local1. */
  aliases: string[];
  /** Aliases left out because the user's own ssh config defines them: the user's entry wins. */
  clashes: string[];
  /** Sentences for the user: pcc hosts that wanted one alias, a misplaced Include, replaced host keys. */
  warnings: string[];
}

/**
 * Writes `<provider>.conf` with the aliases of these hosts (all of the
 * provider's hosts: the file is replaced), makes sure ~/.ssh/config includes
 * pcc's folder, records the host keys providers reported in `meta.hostKey`,
 * and forgets the keys of hosts that left the file.
 */
export async function writeProviderAliases(
  project: Project,
  provider: ProviderName,
  hosts: HostRecord[],
  options: { defaultKey?: string } = {},
): Promise<WrittenAliases> {
  const file = providerConfigFile(project, provider);
  if (hosts.length === 0) {
    await removeProviderAliases(project, provider);
    return { file, aliases: [], clashes: [], warnings: [] };
  }
  for (const h of hosts) {
    if (h.provider !== provider) throw new Error(`writeProviderAliases(${provider}): host ${h.name} belongs to ${h.provider}`);
  }
  return withSshLock(project, async (createdSshDir) => {
    await noteUndo(project, { createdSshDir });
    await mkdir(sshConfigDir(project), { recursive: true, mode: 0o700 });
    const warnings = await ensureInclude(project);

    const user = await userDefinedHosts(project);
    warnings.push(...user.problems);
    const others = await otherProviderFiles(project, provider);
    const plan = planAliases(provider, hosts, user.names, others.flatMap((o) => o.claims));
    warnings.push(...plan.conflicts);

    const previous = (await readIfExists(file)) ?? '';
    const paths = { home: project.home, root: project.root, knownHosts: knownHostsFile(project), defaultKey: options.defaultKey };
    await writeOwnedFile(file, renderProviderFile(provider, plan.blocks, paths), { mode: 0o600 });
    for (const o of others) {
      const drop = plan.takeFrom.get(o.provider);
      if (drop) await writeOwnedFile(o.file, dropAliases(o.text, drop), { mode: 0o600 });
    }

    for (const h of hosts) {
      if (h.meta.hostKey === undefined) continue;
      const keys = parseKeyLines(h.meta.hostKey, `host ${h.name}: meta.hostKey`);
      if (await setHostKeysLocked(project, h.name, keys, createdSshDir)) {
        warnings.push(`host key of ${h.name} replaced in pcc's known_hosts by the one the ${provider} provider reported`);
      }
    }
    const names = new Set(hosts.map((h) => h.name));
    const gone = hostNamesIn(previous).filter((n) => !names.has(n));
    await forgetHostsLocked(project, gone);

    return { file, aliases: plan.blocks.flatMap((b) => b.aliases), clashes: [...new Set(plan.clashes)], warnings };
  });
}

/**
 * Deletes `<provider>.conf` and forgets its hosts' keys. When no provider
 * file is left, undoes what pcc did to the user's files: the Include line
 * (only if pcc added it and it is still the first line), a ~/.ssh/config or
 * ~/.ssh that pcc created and that holds nothing else, and pcc's folder.
 */
export async function removeProviderAliases(project: Project, provider: ProviderName): Promise<void> {
  if (!existsSync(sshConfigDir(project))) return;
  const undo = await withSshLock(project, async () => {
    const file = providerConfigFile(project, provider);
    const text = await readIfExists(file);
    if (text !== undefined) {
      await forgetHostsLocked(project, hostNamesIn(text));
      await unlink(file);
    }
    if ((await providerFiles(project)).length > 0) return undefined;
    return teardown(project);
  });
  // The lock lives in ~/.ssh, so an empty ~/.ssh that pcc made can only go once it is released.
  if (undo?.createdSshDir) await rmdir(project.sshDir).catch(() => undefined);
}

function hostNamesIn(ownFileText: string): string[] {
  return parseOwnFile(ownFileText).flatMap((b) => (b.hostName ? [b.hostName] : []));
}

async function providerFiles(project: Project): Promise<string[]> {
  const entries = await readdir(sshConfigDir(project)).catch(() => [] as string[]);
  return entries.filter((e) => e.endsWith('.conf')).sort().map((e) => path.join(sshConfigDir(project), e));
}

async function otherProviderFiles(project: Project, provider: ProviderName) {
  const mine = providerConfigFile(project, provider);
  const out: { provider: ProviderName; file: string; text: string; claims: Claim[] }[] = [];
  for (const file of await providerFiles(project)) {
    if (file === mine) continue;
    const other = path.basename(file, '.conf') as ProviderName;
    const text = await readFile(file, 'utf8');
    const claims = parseOwnFile(text).flatMap((b) =>
      b.hostName ? b.aliases.map((alias) => ({ alias, hostName: b.hostName!, provider: other })) : [],
    );
    out.push({ provider: other, file, text, claims });
  }
  return out;
}

/**
 * Adds pcc's Include as the first line of ~/.ssh/config (creating the file,
 * 0600, when missing) unless some line already includes pcc's folder.
 * Returns warnings.
 */
async function ensureInclude(project: Project): Promise<string[]> {
  const file = userConfigFile(project);
  const directive = includeDirective(includePattern(project));
  const original = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new PccError(`${file}: cannot read it (${err.code}); pcc adds one Include line at its top and needs to read it first`);
  });
  if (original === undefined) {
    await writeUserConfig(file, Buffer.from(`${directive}\n`), 0o600, `create it with this line: ${directive}`);
    await noteUndo(project, { createdConfig: true, addedInclude: true });
    return [];
  }
  const found = findInclude(original.toString('utf8'), includePattern(project), { home: project.home, sshDir: project.sshDir });
  if (found) {
    return found.atTop
      ? []
      : [
          `${file} line ${found.lineNo}: pcc's Include comes after a Host or Match line, so your entries shadow pcc's aliases or hide them; move it to the top`,
        ];
  }
  const mode = (await stat(file)).mode & 0o7777;
  await writeUserConfig(file, prependLine(original, directive), mode, `add this line at its top yourself: ${directive}`);
  await noteUndo(project, { addedInclude: true });
  return [];
}

/** `fix` tells the user what to do by hand when the file is read-only (a symlink into a Nix store, say). */
async function writeUserConfig(file: string, content: Buffer, mode: number, fix: string): Promise<void> {
  try {
    await writeOwnedFile(file, content, { mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new PccError(`${file} is not writable (${code}); ${fix}`);
    }
    throw err;
  }
}

async function teardown(project: Project) {
  const undo = await readUndo(project);
  if (undo.addedInclude) {
    const file = userConfigFile(project);
    const current = await readFile(file).catch(() => undefined);
    const directive = includeDirective(includePattern(project));
    const rest = current && removeFirstLine(current, directive);
    if (rest && rest.length === 0 && undo.createdConfig) await unlink(file);
    else if (rest) await writeUserConfig(file, rest, (await stat(file)).mode & 0o7777, `remove its first line yourself: ${directive}`);
  }
  const known = await readIfExists(knownHostsFile(project));
  if (known === undefined || !hasEntries(known)) {
    // With the backup that `ssh-keygen -R`, as pcc advises for a changed key, leaves beside it.
    for (const f of [knownHostsFile(project), `${knownHostsFile(project)}.old`]) await unlink(f).catch(() => undefined);
  }
  await unlink(undoRecordFile(project)).catch(() => undefined);
  await rmdir(sshConfigDir(project)).catch(() => undefined);
  // ~/.ssh/config.d only when pcc made it: a folder the user made (empty or not) stays.
  if (undo.createdConfigDir) await rmdir(path.dirname(sshConfigDir(project))).catch(() => undefined);
  return undo;
}
