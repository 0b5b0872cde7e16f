import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../core/errors.js';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Project } from '../core/project.js';
import { noteSecret, secretLookingName } from '../core/secrets.js';
import { hostGroups } from '../inventory/groups.js';
import type { HostRecord } from '../state/schema.js';
import { parseDotenvStrict, readDotenvFile, type DotenvEntry } from './dotenv-file.js';
import { checkVariableKey, type Settings } from './load.js';

/**
 * Playbook variables per host, as Ansible layers them:
 *
 *   config/vars.env < config/groups/all.env < config/groups/<group>.env < config/hosts/<name>.env < --var K=V
 *
 * Two of a host's groups that set one key differently are an error unless the
 * host's own file settles it: which group wins would be a guess (Ansible
 * decides by nesting depth and name, which pcc's flat groups do not have;
 * `pcc hosts import` writes the settled value into the host's file).
 */
export interface HostVars {
  readonly vars: Readonly<Record<string, string>>;
  /** Where each value came from: a file, `--var`, for `pcc hosts show`. */
  readonly origin: Readonly<Record<string, string>>;
}

export type VarScope = 'hosts' | 'groups';

export function varFile(project: Project, scope: VarScope, name: string): string {
  return path.join(project.configDir, scope, `${name}.env`);
}

/** Reads each per-host and per-group file once, however many hosts share it. */
export function hostVarsResolver(project: Project, settings: Pick<Settings, 'vars' | 'origin'>, cliVars: Readonly<Record<string, string>> = {}) {
  const files = new Map<string, { rel: string; entries: readonly DotenvEntry[] }>();
  const read = (scope: VarScope, name: string) => {
    const file = varFile(project, scope, name);
    let known = files.get(file);
    if (!known) {
      const rel = path.relative(project.root, file);
      const entries = readDotenvFile(file, rel) ?? [];
      for (const e of entries) checkVariableKey(e.key, `${rel}:${e.line}`);
      known = { rel, entries };
      files.set(file, known);
    }
    return known;
  };

  return (host: HostRecord): HostVars => {
    const vars: Record<string, string> = { ...settings.vars };
    const origin: Record<string, string> = {};
    for (const k of Object.keys(vars)) origin[k] = settings.origin[k] ?? 'config/vars.env';
    const layer = (from: { rel: string; entries: readonly DotenvEntry[] }) => {
      for (const e of from.entries) {
        vars[e.key] = e.value;
        origin[e.key] = `${from.rel}:${e.line}`;
      }
    };
    layer(read('groups', 'all'));

    const own = read('hosts', host.name);
    const settled = new Set(own.entries.map((e) => e.key));
    const byGroup: Record<string, { value: string; where: string }> = {};
    const groups = [...new Set(hostGroups(host))].filter((g) => g !== 'all').sort();
    for (const g of groups) {
      const from = read('groups', g);
      for (const e of from.entries) {
        const where = `${from.rel}:${e.line}`;
        const earlier = byGroup[e.key];
        if (earlier && earlier.value !== e.value && !settled.has(e.key)) {
          throw new PccError(
            `${where} and ${earlier.where} set ${e.key} differently for host ${host.name}; set it in config/hosts/${host.name}.env, or in one group only`,
          );
        }
        byGroup[e.key] = { value: e.value, where };
        vars[e.key] = e.value;
        origin[e.key] = where;
      }
    }
    layer(own);
    for (const [k, v] of Object.entries(cliVars)) {
      vars[k] = v;
      origin[k] = '--var';
    }
    // Whatever pcc prints after this (diffs, scripts, errors) hides them.
    for (const [k, v] of Object.entries(vars)) if (isSecretVar(k, origin[k])) noteSecret(v);
    return { vars, origin };
  };
}

/** `--var K=V` (repeatable) as a record; a malformed one is a usage error naming the flag. */
export function parseVarFlags(flags: readonly string[] | undefined, flag = '--var'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags ?? []) {
    const m = /^([A-Za-z_][\w.-]*)=([\s\S]*)$/.exec(f);
    if (!m) throw new PccError(`${flag} '${f}' is not KEY=value; e.g. ${flag} DATASET=/project/data`);
    checkVariableKey(m[1]!, `${flag} ${m[1]}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Variables whose values are never printed: anything from config/.private, and names that say secret. */
export function isSecretVar(key: string, origin: string | undefined): boolean {
  if (origin?.startsWith('config/.private')) return true;
  return secretLookingName(key);
}

/** The variables that may leave pcc (an exported inventory), and the names of those that may not. */
export function withoutSecrets(hv: HostVars): { shown: Record<string, string>; hidden: string[] } {
  const shown: Record<string, string> = {};
  const hidden: string[] = [];
  for (const [k, v] of Object.entries(hv.vars)) {
    if (isSecretVar(k, hv.origin[k])) hidden.push(k);
    else shown[k] = v;
  }
  return { shown, hidden };
}

export function redactVars(hv: HostVars): Record<string, string> {
  return Object.fromEntries(Object.entries(hv.vars).map(([k, v]) => [k, isSecretVar(k, hv.origin[k]) ? '(hidden)' : v]));
}

/**
 * Sets keys in a per-host or per-group file, keeping its other lines and
 * comments; a changed key stays on its line. Written atomically, 0600 when
 * it holds a secret-looking name.
 */
export async function setVarsInFile(project: Project, scope: VarScope, name: string, set: Readonly<Record<string, string>>): Promise<string> {
  const file = varFile(project, scope, name);
  const rel = path.relative(project.root, file);
  const before = (await readIfExists(file)) ?? '';
  const entries = before ? parseDotenvStrict(Buffer.from(before), rel) : [];
  const lines = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const spans = entries.map((e) => ({ key: e.key, first: e.line - 1, last: e.lastLine - 1 }));
  const pending = new Map(Object.entries(set));
  // Replace from the bottom so that earlier line numbers stay right.
  for (const s of [...spans].reverse()) {
    const value = pending.get(s.key);
    if (value === undefined) continue;
    lines.splice(s.first, s.last - s.first + 1, dotenvLine(s.key, value, rel));
    pending.delete(s.key);
  }
  for (const [k, v] of pending) lines.push(dotenvLine(k, v, rel));
  const text = `${lines.join('\n')}\n`;
  const check = new Map(parseDotenvStrict(Buffer.from(text), rel).map((e) => [e.key, e.value]));
  for (const [k, v] of Object.entries(set)) {
    if (check.get(k) !== v) throw new PccError(`${rel}: the value of ${k} cannot be written as dotenv; set it by hand`);
  }
  const secret = [...check.keys()].some((k) => isSecretVar(k, undefined));
  await writeOwnedFile(file, text, { mode: secret ? 0o600 : 0o644 });
  if (secret) await chmod(file, 0o600);
  return rel;
}

/** Bare when safe, else single quotes (dotenv takes them literally), else backticks, else double quotes. */
function dotenvLine(key: string, value: string, rel: string): string {
  if (/^[\w./:@,+%=-]*$/.test(value)) return `${key}=${value}`;
  if (!value.includes("'")) return `${key}='${value}'`;
  if (!value.includes('`')) return `${key}=\`${value}\``;
  if (!value.includes('"') && !/\\[nr]/.test(value)) return `${key}="${value}"`;
  throw new PccError(`${rel}: the value of ${key} holds every kind of quote; set it by hand`);
}
