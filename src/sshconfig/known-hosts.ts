import { createHmac } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { PccError } from '../core/errors.js';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Project } from '../core/project.js';
import type { HostKeyStore } from '../remote/connector.js';
import { withSshLock } from './lock.js';
import { noteUndo } from './undo.js';
import { knownHostsFile } from './paths.js';

/*
 * pcc's own known_hosts. Entries are keyed by the host's pcc name, which the
 * generated ssh entries pass as HostKeyAlias: an address is not an identity
 * (EC2 hands a released IP to the next instance, a local host gets the address
 * of one destroyed before it), and a name-keyed entry neither blames the new
 * host for the old one's key nor lets it inherit that trust.
 */

export type KeyVerdict = 'known' | 'new' | 'changed';

export interface HostKey {
  type: string;
  /** The base64 key blob. */
  key: string;
}

/** `ssh-ed25519 AAAA... [comment]`, as in a .pub file or a known_hosts line after the names. */
export function parseKeyLine(line: string, what: string): HostKey {
  const [type, key] = line.trim().split(/\s+/);
  if (!type || !key || !blobNames(key, type)) {
    throw new PccError(`${what}: expected a public key like 'ssh-ed25519 AAAA...', got '${line.trim().slice(0, 40)}'`);
  }
  return { type, key };
}

/** A key blob starts with its own type as a length-prefixed string: a cheap proof that it is one. */
function blobNames(b64: string, type: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const blob = Buffer.from(b64, 'base64');
  if (blob.length < 4) return false;
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1') === type;
}

/** The keys of each of these lines of a host: several lines when a provider reports several key types. */
export function parseKeyLines(text: string, what: string): HostKey[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => parseKeyLine(l, what));
}

interface Entry {
  marker?: string;
  names: string[];
  key: HostKey;
}

function parseEntry(line: string): Entry | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const parts = t.split(/\s+/);
  const marker = parts[0]!.startsWith('@') ? parts.shift() : undefined;
  const [names, type, key] = parts;
  if (!names || !type || !key) return undefined;
  return { marker, names: names.split(','), key: { type, key } };
}

/** A plain name, or a `|1|salt|hash` one as `ssh-keygen -H` writes. Patterns are not pcc's business. */
function nameMatches(entryName: string, host: string): boolean {
  if (entryName === host) return true;
  const hashed = /^\|1\|([^|]+)\|([^|]+)$/.exec(entryName);
  if (!hashed) return false;
  const mac = createHmac('sha1', Buffer.from(hashed[1]!, 'base64')).update(host).digest('base64');
  return mac === hashed[2];
}

export function keysOf(text: string, host: string): { trusted: HostKey[]; revoked: HostKey[] } {
  const trusted: HostKey[] = [];
  const revoked: HostKey[] = [];
  for (const line of text.split(/\r?\n/)) {
    const e = parseEntry(line);
    if (!e || !e.names.some((n) => nameMatches(n, host))) continue;
    if (e.marker === undefined) trusted.push(e.key);
    else if (e.marker === '@revoked') revoked.push(e.key);
  }
  return { trusted, revoked };
}

const same = (a: HostKey, b: HostKey) => a.type === b.type && a.key === b.key;

/**
 * Like OpenSSH under StrictHostKeyChecking: a host known only by keys of
 * other types is `changed`, not `new`, or a man in the middle could pass by
 * offering a type pcc has not seen.
 */
export function verdictFor(text: string, host: string, key: HostKey): KeyVerdict {
  const { trusted, revoked } = keysOf(text, host);
  if (revoked.some((k) => same(k, key))) return 'changed';
  if (trusted.some((k) => same(k, key))) return 'known';
  return trusted.length === 0 ? 'new' : 'changed';
}

export function withKey(text: string, host: string, key: HostKey): string {
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${body}${host} ${key.type} ${key.key}\n`;
}

/** Drops the host from every line; a line left with no name goes. Other lines stay as they were. */
export function withoutHost(text: string, host: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const e = parseEntry(line);
    if (!e || !e.names.some((n) => nameMatches(n, host))) {
      out.push(line);
      continue;
    }
    const rest = e.names.filter((n) => !nameMatches(n, host));
    if (rest.length === 0) continue;
    const fields = line.trim().split(/\s+/);
    const at = e.marker ? 1 : 0;
    fields[at] = rest.join(',');
    out.push(fields.join(' '));
  }
  return out.join('\n');
}

export function hasEntries(text: string): boolean {
  return text.split(/\r?\n/).some((l) => parseEntry(l) !== undefined);
}

function changedMessage(project: Project, host: string, type: string): string {
  const file = knownHostsFile(project);
  return (
    `the host key of ${host} changed: pcc's known_hosts (${file}) holds a different key than the ${type} key now offered; ` +
    `if ${host} was rebuilt, remove the stale entry with: ssh-keygen -R ${host} -f ${file}`
  );
}

async function readKnownHosts(project: Project): Promise<string> {
  return (await readIfExists(knownHostsFile(project))) ?? '';
}

async function writeKnownHosts(project: Project, text: string, createdSshDir: boolean): Promise<void> {
  await noteUndo(project, { createdSshDir });
  await writeOwnedFile(knownHostsFile(project), text, { mode: 0o644 });
}

export async function checkHostKey(project: Project, hostName: string, keyType: string, keyBase64: string): Promise<KeyVerdict> {
  return verdictFor(await readKnownHosts(project), hostName, { type: keyType, key: keyBase64 });
}

/**
 * Trust on first use: adds the key when pcc knows none for the host, does
 * nothing when it is already there, and refuses a different one.
 */
export async function recordHostKey(project: Project, hostName: string, keyLine: string): Promise<'known' | 'new'> {
  const key = parseKeyLine(keyLine, `host key of ${hostName}`);
  return withSshLock(project, async (createdSshDir) => {
    const text = await readKnownHosts(project);
    const verdict = verdictFor(text, hostName, key);
    if (verdict === 'changed') throw new PccError(changedMessage(project, hostName, key.type));
    if (verdict === 'new') await writeKnownHosts(project, withKey(text, hostName, key), createdSshDir);
    return verdict;
  });
}

/**
 * Makes `keys` the host's only trusted keys. For keys a provider reports
 * itself (it generated them, or read them from the cloud's console), which
 * outrank what an earlier connection saw. Returns whether an old key was replaced.
 */
export async function setHostKeys(project: Project, hostName: string, keys: HostKey[]): Promise<boolean> {
  return withSshLock(project, (createdSshDir) => setHostKeysLocked(project, hostName, keys, createdSshDir));
}

export async function setHostKeysLocked(
  project: Project,
  hostName: string,
  keys: HostKey[],
  createdSshDir: boolean,
): Promise<boolean> {
  const text = await readKnownHosts(project);
  const { trusted } = keysOf(text, hostName);
  const unchanged = trusted.length === keys.length && keys.every((k) => trusted.some((t) => same(t, k)));
  if (unchanged) return false;
  let next = withoutHost(text, hostName);
  for (const k of keys) next = withKey(next, hostName, k);
  await writeKnownHosts(project, next, createdSshDir);
  return trusted.length > 0;
}

/** Forgets every key of the host (on destroy). Returns whether there was one. */
export async function forgetHost(project: Project, hostName: string): Promise<boolean> {
  return withSshLock(project, () => forgetHostsLocked(project, [hostName]));
}

export async function forgetHostsLocked(project: Project, hostNames: string[]): Promise<boolean> {
  const text = await readIfExists(knownHostsFile(project));
  if (text === undefined) return false;
  const next = hostNames.reduce(withoutHost, text);
  if (next === text) return false;
  if (hasEntries(next)) await writeOwnedFile(knownHostsFile(project), next, { mode: 0o644 });
  else await unlink(knownHostsFile(project));
  return true;
}

/**
 * The view the SSH layer's host verifier needs: `check` answers from memory
 * (ssh2 asks synchronously); `remember` writes through the lock and refuses
 * a key that another process recorded differently in the meantime.
 */
export async function hostKeyStore(project: Project): Promise<HostKeyStore> {
  let text = await readKnownHosts(project);
  return {
    check: (hostName, keyType, keyBase64) => verdictFor(text, hostName, { type: keyType, key: keyBase64 }),
    async remember(hostName, keyType, keyBase64) {
      await recordHostKey(project, hostName, `${keyType} ${keyBase64}`);
      text = withKey(text, hostName, { type: keyType, key: keyBase64 });
    },
  };
}
