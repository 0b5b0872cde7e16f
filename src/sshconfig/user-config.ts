import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import SSHConfig, { glob, type Line } from 'ssh-config';
import type { Project } from '../core/project.js';
import { resolveIncludeArg } from './include.js';
import { sshConfigDir, userConfigFile } from './paths.js';

/*
 * The host names the user already defines, so that pcc leaves those aliases
 * to them. A name counts when a Host line or a `Match host|originalhost`
 * names it literally; patterns (`Host *`, `Host *.example.com`) only supply
 * defaults, and pcc's entries come first for the options they set anyway.
 * Names are compared as written: ssh lowercases the name it is given but not
 * the patterns, so a `Host Local1` never applies to anything and takes nothing.
 */

/** ssh stops at this Include depth too. */
const MAX_DEPTH = 16;

function argsOf(line: Line): string[] {
  if (!('value' in line)) return [];
  const v = line.value;
  if (Array.isArray(v)) return v.map((x) => x.val);
  return line.quoted ? [v] : v.split(/\s+/).filter(Boolean);
}

const literal = (p: string) => p !== '' && !/[*?!]/.test(p);

/** The Host patterns an Include sits under: ssh reads that file only for names they match. */
type Guard = string[][];

export interface ConfigScan {
  names: string[];
  /** Include arguments, wherever they appear, each with the Host patterns it is conditional on. */
  includes: { arg: string; guard: Guard }[];
}

/**
 * Literal names from Host lines and `Match host|originalhost`. Inside an
 * included file read only under some Host block, a name counts only if those
 * patterns match it too (ssh never reads the file for any other name); under
 * a Match, pcc cannot tell and counts it.
 */
export function scanConfig(config: SSHConfig, guard: Guard = []): ConfigScan {
  const names: string[] = [];
  const includes: ConfigScan['includes'] = [];
  const walk = (lines: readonly Line[], within: Guard) => {
    for (const line of lines) {
      if (!('param' in line)) continue;
      const param = line.param.trim().toLowerCase();
      let sectionGuard = within;
      if (param === 'host') {
        names.push(...argsOf(line).filter(literal));
        sectionGuard = [...within, argsOf(line)];
      }
      if (param === 'match' && 'criteria' in line) {
        for (const [criterion, value] of Object.entries(line.criteria)) {
          if (criterion.toLowerCase() !== 'host' && criterion.toLowerCase() !== 'originalhost') continue;
          const list = Array.isArray(value) ? value.map((x) => x.val).join(',') : value;
          names.push(...list.split(',').filter(literal));
        }
      }
      if (param === 'include') includes.push(...argsOf(line).map((arg) => ({ arg, guard: within })));
      if ('config' in line) walk(line.config, sectionGuard);
    }
  };
  walk(config, guard);
  return { names: names.filter((n) => guard.every((patterns) => glob(patterns, n))), includes };
}

export interface UserHosts {
  names: Set<string>;
  /** Files that could not be read or parsed: their Hosts could not be checked for clashes. */
  problems: string[];
}

/** The user's ~/.ssh/config and everything it includes, except pcc's own folder. */
export async function userDefinedHosts(project: Project): Promise<UserHosts> {
  const names = new Set<string>();
  const problems: string[] = [];
  const own = sshConfigDir(project);
  const visited = new Set<string>();

  const visit = async (file: string, guard: Guard, depth: number): Promise<void> => {
    if (visited.has(file) || depth > MAX_DEPTH) return;
    visited.add(file);
    let scan: ConfigScan;
    try {
      scan = scanConfig(SSHConfig.parse(await readFile(file, 'utf8')), guard);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') return;
      problems.push(`${file}: not checked for alias clashes (${(err as Error).message})`);
      return;
    }
    for (const n of scan.names) names.add(n);
    for (const inc of scan.includes) {
      const pattern = resolveIncludeArg(inc.arg, project.home, project.sshDir);
      for (const f of await expandGlob(pattern)) {
        if (f !== own && !f.startsWith(own + path.sep)) await visit(f, inc.guard, depth + 1);
      }
    }
  };
  await visit(userConfigFile(project), [], 0);
  return { names, problems };
}

/** glob(3) as ssh uses it for Include: per path segment, sorted, no dotfiles for a wildcard. */
export async function expandGlob(pattern: string): Promise<string[]> {
  const segments = pattern.split(path.sep).filter(Boolean);
  let found: string[] = [path.sep];
  for (const seg of segments) {
    const next: string[] = [];
    if (!/[*?[]/.test(seg)) {
      for (const dir of found) next.push(path.join(dir, seg));
    } else {
      const match = picomatch(seg, { dot: false });
      for (const dir of found) {
        const entries = await readdir(dir).catch(() => [] as string[]);
        next.push(...entries.filter((e) => match(e)).sort().map((e) => path.join(dir, e)));
      }
    }
    found = next;
  }
  const exists = await Promise.all(found.map((f) => stat(f).then(() => true, () => false)));
  return found.filter((_, i) => exists[i]);
}
