import { PccError } from '../core/errors.js';
import { resolveKeyPath } from '../core/project.js';
import { naturalCompare } from '../core/natural-order.js';
import { hostGroups } from '../inventory/pattern.js';
import type { ProviderName } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { configLines, quoteArg } from './include.js';

/*
 * The entries of one provider's file, as pure functions from host records to
 * text, and back from pcc's own text to the aliases and host names it holds.
 */

/** A word ssh's Host line takes literally: no pattern characters, no `!`, no spaces or commas. */
const ALIAS = /^[a-z0-9][a-z0-9._-]*$/;

/** `<host>` and `<group>-<host>` for each group (the provider among them). ssh lowercases names, so do aliases. */
export function hostAliases(host: HostRecord): string[] {
  const names = [host.name, ...hostGroups(host).map((g) => `${g}-${host.name}`)].map((a) => a.toLowerCase());
  return [...new Set(names)].filter((a) => ALIAS.test(a));
}

export interface EntryPaths {
  home: string;
  /** Where a relative key path is resolved: the project root. */
  root: string;
  knownHosts: string;
  /** Used for hosts whose record has no key. */
  defaultKey?: string;
}

/** `%` starts a token in IdentityFile and UserKnownHostsFile; a path means it literally. */
const literalPath = (p: string) => quoteArg(p.replace(/%/g, '%%'));

/** Whether ssh's config reader takes `value` as one literal word (no quotes, comment, escape or space). */
export function isSshConfigWord(value: string): boolean {
  return value !== '' && !/[\s"'#\\]/.test(value);
}

function word(host: HostRecord, field: string, value: string): string {
  if (!isSshConfigWord(value)) {
    throw new PccError(`host ${host.name}: ${field} '${value}' cannot go into an ssh config entry; fix the host record`);
  }
  return value;
}

export function keyPath(host: HostRecord, paths: EntryPaths): string | undefined {
  const key = host.key ?? paths.defaultKey;
  return key === undefined ? undefined : resolveKeyPath(key, paths);
}

/**
 * One block per host: every alias on its Host line, and HostKeyAlias set to
 * the host's name so that known_hosts is keyed by the name, not the address.
 */
export function renderHostBlock(host: HostRecord, aliases: string[], paths: EntryPaths): string {
  const key = keyPath(host, paths);
  const lines = [
    `Host ${aliases.join(' ')}`,
    `  HostName ${word(host, 'address', host.address)}`,
    `  Port ${host.port}`,
    `  User ${word(host, 'user', host.user)}`,
    ...(key ? [`  IdentityFile ${literalPath(key)}`, '  IdentitiesOnly yes'] : []),
    `  UserKnownHostsFile ${literalPath(paths.knownHosts)}`,
    '  StrictHostKeyChecking yes',
    `  HostKeyAlias ${host.name}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function renderProviderFile(
  provider: ProviderName,
  blocks: { host: HostRecord; aliases: string[] }[],
  paths: EntryPaths,
): string {
  const header =
    `# pcc: ssh aliases of the ${provider} hosts of the project in ${paths.root}.\n` +
    `# pcc rewrites this file when the hosts change and deletes it on destroy, so edits\n` +
    `# here are lost; to override an alias, define the same Host in your own\n` +
    `# ~/.ssh/config and pcc leaves it out.\n`;
  const body = blocks
    .filter((b) => b.aliases.length > 0)
    .sort((a, b) => naturalCompare(a.host.name, b.host.name))
    .map((b) => renderHostBlock(b.host, b.aliases, paths));
  return [header, ...body].join('\n');
}

/** The project folder a file of pcc's names in its first line; undefined for an older pcc's file. */
export function projectOfOwnFile(text: string): string | undefined {
  return /^# pcc: ssh aliases of the \S+ hosts of the project in (.+)\.$/m.exec(text.split('\n')[0] ?? '')?.[1];
}

/** One Host block of a file pcc wrote: its aliases, the host (HostKeyAlias) and its lines (0-based, end exclusive). */
export interface OwnBlock {
  aliases: string[];
  hostName?: string;
  start: number;
  end: number;
}

export function parseOwnFile(text: string): OwnBlock[] {
  const blocks: OwnBlock[] = [];
  const lineCount = text.split('\n').length;
  for (const line of configLines(text)) {
    if (line.keyword === 'host') {
      const prev = blocks.at(-1);
      if (prev) prev.end = line.lineNo - 1;
      blocks.push({ aliases: line.args.map((a) => a.toLowerCase()), start: line.lineNo - 1, end: lineCount });
    } else if (line.keyword === 'hostkeyalias' && blocks.length > 0) {
      blocks.at(-1)!.hostName = line.args[0];
    }
  }
  return blocks;
}

/** The file without the given aliases; a block left with none goes, with the blank line after it. */
export function dropAliases(text: string, drop: ReadonlySet<string>): string {
  const lines = text.split('\n');
  for (const block of parseOwnFile(text).reverse()) {
    const keep = block.aliases.filter((a) => !drop.has(a));
    if (keep.length === block.aliases.length) continue;
    if (keep.length > 0) lines[block.start] = `Host ${keep.join(' ')}`;
    else lines.splice(block.start, block.end - block.start);
  }
  return lines.join('\n');
}

/** An alias as another provider's file holds it. */
export interface Claim {
  alias: string;
  hostName: string;
  provider: ProviderName;
}

/** Who keeps an alias two pcc hosts both want: the host it names, then the first host name, then provider. */
function outranks(a: Claim, b: Claim): boolean {
  const own = Number(b.alias === b.hostName) - Number(a.alias === a.hostName);
  if (own !== 0) return own < 0;
  const byHost = naturalCompare(a.hostName, b.hostName);
  if (byHost !== 0) return byHost < 0;
  return a.provider < b.provider;
}

export interface AliasPlan {
  blocks: { host: HostRecord; aliases: string[] }[];
  /** Left out because the user defines them: the user's entry wins. */
  clashes: string[];
  /** Aliases other providers' files must give up to this provider's hosts. */
  takeFrom: Map<ProviderName, Set<string>>;
  /** One sentence per alias two pcc hosts wanted. */
  conflicts: string[];
}

/** Aliases another project's files hold: alias → that project's folder. They stay with it. */
export type ForeignAliases = ReadonlyMap<string, string>;

/**
 * Decides every alias of this provider's hosts against the user's own Hosts,
 * the other providers' files of this project and other projects' files, the
 * same way whichever was written first: each alias ends up in exactly one pcc
 * block, because ssh would merge two blocks for one name option by option.
 * Within a project the ranking decides; an alias another project already has
 * stays with it (pcc never rewrites another project's file), and this host
 * gets `<alias>.<project>` instead, with a line saying so.
 */
export function planAliases(
  provider: ProviderName,
  hosts: readonly HostRecord[],
  userDefined: ReadonlySet<string>,
  others: readonly Claim[],
  foreign: { aliases: ForeignAliases; qualifier: string } = { aliases: new Map(), qualifier: '' },
): AliasPlan {
  const mine = hosts.flatMap((h) => hostAliases(h).map((alias): Claim => ({ alias, hostName: h.name, provider })));
  const winners = new Map<string, Claim>();
  for (const c of [...others, ...mine]) {
    const seen = winners.get(c.alias);
    if (!seen || outranks(c, seen)) winners.set(c.alias, c);
  }
  const taken = (alias: string) => userDefined.has(alias) || foreign.aliases.has(alias) || winners.has(alias);

  const clashes: string[] = [];
  const conflicts: string[] = [];
  const blocks = hosts.map((host) => {
    const aliases: string[] = [];
    for (const alias of hostAliases(host)) {
      const winner = winners.get(alias)!;
      const elsewhere = foreign.aliases.get(alias);
      if (userDefined.has(alias)) clashes.push(alias);
      else if (elsewhere !== undefined) {
        const qualified = `${alias}.${foreign.qualifier}`.toLowerCase();
        const usable = foreign.qualifier !== '' && ALIAS.test(qualified) && !taken(qualified);
        if (usable) aliases.push(qualified);
        conflicts.push(
          `ssh alias ${alias} belongs to the project in ${elsewhere}; this project's ${provider} host ${host.name} is ` +
            (usable ? `ssh ${qualified}` : 'left out of ssh (pcc exec still reaches it)'),
        );
      } else if (winner.hostName === host.name && winner.provider === provider) aliases.push(alias);
      else conflicts.push(`ssh alias ${alias} of ${provider} host ${host.name} stays with ${winner.provider} host ${winner.hostName}`);
    }
    return { host, aliases };
  });

  // The other files give up what the user now defines, and what this provider's hosts outrank them for.
  const takeFrom = new Map<ProviderName, Set<string>>();
  for (const c of others) {
    const winner = winners.get(c.alias)!;
    if (userDefined.has(c.alias)) clashes.push(c.alias);
    else if (winner.provider === provider) {
      conflicts.push(`ssh alias ${c.alias} of ${c.provider} host ${c.hostName} goes to ${provider} host ${winner.hostName}`);
    } else continue;
    if (!takeFrom.has(c.provider)) takeFrom.set(c.provider, new Set());
    takeFrom.get(c.provider)!.add(c.alias);
  }
  return { blocks, clashes, takeFrom, conflicts };
}
