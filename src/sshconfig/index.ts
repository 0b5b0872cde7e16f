import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../core/errors.js';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Project } from '../core/project.js';
import type { ProviderName } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { dropAliases, parseOwnFile, planAliases, projectOfOwnFile, renderProviderFile, type Claim } from './entries.js';
import { findInclude, includeDirective, prependLine, removeFirstLine } from './include.js';
import { forgetHostsLocked, hasEntries, parseKeyLines, setHostKeysLocked } from './known-hosts.js';
import { withSshLock } from './lock.js';
import {
  includePattern,
  knownHostsFile,
  parseConfigFileName,
  projectFilePrefix,
  providerConfigFile,
  sshConfigDir,
  undoRecordFile,
  userConfigFile,
} from './paths.js';
import { noteUndo, readUndo } from './undo.js';
import { userDefinedHosts } from './user-config.js';

export { hostAliases } from './entries.js';
export { checkHostKey, forgetHost, hostKeyStore, recordHostKey, type KeyVerdict } from './known-hosts.js';
export { knownHostsFile, providerConfigFile, sshConfigDir } from './paths.js';

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
 * Writes this project's `<provider>.conf` with the aliases of these hosts (all of the
 * provider's hosts: the file is replaced), makes sure ~/.ssh/config includes
 * pcc's folder, records the host keys providers reported in `hostKey`,
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
    const foreign = await otherProjectsAliases(project);
    const plan = planAliases(provider, hosts, user.names, others.flatMap((o) => o.claims), { aliases: foreign, qualifier: project.name });
    warnings.push(...plan.conflicts);

    const previous = (await readIfExists(file)) ?? '';
    const paths = { home: project.home, root: project.root, knownHosts: knownHostsFile(project), defaultKey: options.defaultKey };
    await writeOwnedFile(file, renderProviderFile(provider, plan.blocks, paths), { mode: 0o600 });
    for (const o of others) {
      const drop = plan.takeFrom.get(o.provider);
      if (drop) await writeOwnedFile(o.file, dropAliases(o.text, drop), { mode: 0o600 });
    }

    for (const h of hosts) {
      if (h.hostKey === undefined) continue;
      const keys = parseKeyLines(h.hostKey, `host ${h.name}: hostKey`);
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
 * Deletes this project's `<provider>.conf` and forgets its hosts' keys. When
 * no file of any project is left, undoes what pcc did to the user's files: the Include line
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
    const left = await providerFiles(project);
    if (!left.some((f) => parseConfigFileName(f).prefix === projectFilePrefix(project))) await removeEmptyKnownHosts(project);
    if (left.length > 0) return undefined;
    return teardown(project);
  });
  // The lock lives in ~/.ssh, so an empty ~/.ssh that pcc made can only go once it is released.
  if (undo?.createdSshDir) await rmdir(project.sshDir).catch(() => undefined);
}

/**
 * The ssh alias that reaches this project's host: `want` (its name by
 * default) when this project holds it, else the `<want>.<project>` it got
 * because another project has `want`, else any of its aliases. Undefined when
 * ssh has no alias for it: hints then point at `pcc exec`.
 */
export async function sshAliasFor(project: Project, hostName: string, want = hostName): Promise<string | undefined> {
  for (const file of await providerFiles(project)) {
    if (parseConfigFileName(file).prefix !== projectFilePrefix(project)) continue;
    const block = parseOwnFile(await readFile(file, 'utf8')).find((b) => b.hostName === hostName);
    if (!block) continue;
    const qualified = `${want}.${project.name}`.toLowerCase();
    return [want, qualified].find((a) => block.aliases.includes(a)) ?? block.aliases[0];
  }
  return undefined;
}

/** The hosts the provider's alias file has blocks for (none without a file). */
export async function providerAliasHosts(project: Project, provider: ProviderName): Promise<string[]> {
  const text = await readIfExists(providerConfigFile(project, provider));
  return text === undefined ? [] : hostNamesIn(text);
}

function hostNamesIn(ownFileText: string): string[] {
  return parseOwnFile(ownFileText).flatMap((b) => (b.hostName ? [b.hostName] : []));
}

async function providerFiles(project: Project): Promise<string[]> {
  const entries = await readdir(sshConfigDir(project)).catch(() => [] as string[]);
  return entries.filter((e) => e.endsWith('.conf')).sort().map((e) => path.join(sshConfigDir(project), e));
}

/** This project's files of other providers, with the aliases each holds. */
async function otherProviderFiles(project: Project, provider: ProviderName) {
  const mine = providerConfigFile(project, provider);
  const out: { provider: ProviderName; file: string; text: string; claims: Claim[] }[] = [];
  for (const file of await providerFiles(project)) {
    const name = parseConfigFileName(file);
    if (file === mine || name.prefix !== projectFilePrefix(project)) continue;
    const text = await readFile(file, 'utf8');
    out.push({ provider: name.provider, file, text, claims: claimsIn(text, name.provider) });
  }
  return out;
}

/** Aliases the files of other projects in this home hold (an older pcc's unprefixed files too), each with whose they are. */
async function otherProjectsAliases(project: Project): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const file of await providerFiles(project)) {
    const name = parseConfigFileName(file);
    if (name.prefix === projectFilePrefix(project)) continue;
    const text = await readFile(file, 'utf8');
    const root = projectOfOwnFile(text);
    // A folder deleted without `pcc destroy` leaves its file; say how to free its aliases rather than take them.
    const owner = root === undefined ? `${file} (an older pcc's)` : existsSync(root) ? root : `${root} (gone: delete ${file} to free its aliases)`;
    for (const c of claimsIn(text, name.provider)) if (!out.has(c.alias)) out.set(c.alias, owner);
  }
  return out;
}

function claimsIn(text: string, provider: ProviderName): Claim[] {
  return parseOwnFile(text).flatMap((b) => (b.hostName ? b.aliases.map((alias) => ({ alias, hostName: b.hostName!, provider })) : []));
}

/** This project's known_hosts once it holds no key (and the backup `ssh-keygen -R` leaves beside it). */
async function removeEmptyKnownHosts(project: Project): Promise<void> {
  const known = await readIfExists(knownHostsFile(project));
  if (known !== undefined && hasEntries(known)) return;
  for (const f of [knownHostsFile(project), `${knownHostsFile(project)}.old`]) await unlink(f).catch(() => undefined);
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
  await removeEmptyKnownHosts(project);
  await unlink(undoRecordFile(project)).catch(() => undefined);
  await rmdir(sshConfigDir(project)).catch(() => undefined);
  // ~/.ssh/config.d only when pcc made it: a folder the user made (empty or not) stays.
  if (undo.createdConfigDir) await rmdir(path.dirname(sshConfigDir(project))).catch(() => undefined);
  return undo;
}
