import { accessSync, constants, realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { quote } from '../remote/shell.js';

/*
 * The commands pcc prints for the user to run next (`next: ...`, `ready: ssh
 * ...`), written so that they paste into a shell as they are:
 * - the program is pcc as it was started: `pcc` only when the `pcc` on the
 *   PATH is this one, so a checkout run as `node bin/pcc.js` is told
 *   `node bin/pcc.js setup local`, not a command the shell cannot find;
 * - every value put into a hint (a pattern, a path) is one shell word, single
 *   quoted when it holds anything a shell would act on: `all:!init` unquoted
 *   is bash's history expansion ("event not found"), `ec2:&gpu` a background job;
 * - `ssh ALIAS` names the config pcc wrote with `-F` where OpenSSH would not
 *   read it (see sshWords).
 */

/** How pcc was started: the script node ran, from where, with which environment. */
export interface Invocation {
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function currentInvocation(): Invocation {
  return { script: process.argv[1] ?? 'pcc', cwd: process.cwd(), env: process.env };
}

/**
 * The words that start this pcc again from `cwd`: `npx pcc` when npm exec
 * ran it from a node_modules (npx puts the package's bin on a PATH of its own;
 * npm_command alone is also set for whatever a tool run by npx starts), `pcc` when the first
 * `pcc` on the PATH is this same script (a global install or `npm link`),
 * and otherwise `node` with the script's path, relative when it lies below
 * `cwd` (`node bin/pcc.js` in the checkout) and absolute elsewhere.
 */
export function programWords(inv: Invocation): string {
  if (inv.env.npm_command === 'exec' && inv.script.split(path.sep).includes('node_modules')) return 'npx pcc';
  const script = realpathOr(path.resolve(inv.cwd, inv.script));
  const onPath = firstOnPath('pcc', inv.env.PATH);
  if (onPath !== undefined && realpathOr(onPath) === script) return 'pcc';
  const absolute = path.resolve(inv.cwd, inv.script);
  const relative = path.relative(inv.cwd, absolute);
  const below = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return `node ${quote(below ? relative : absolute)}`;
}

/** The file a shell would run for `name`: the first executable one along PATH. */
function firstOnPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** A tagged template for one hint: `pcc setup ${pattern}`, with the program as started and each value one shell word. */
export type HintCommand = (strings: TemplateStringsArray, ...values: unknown[]) => string;

export function hintCommand(program: string, project?: string): HintCommand {
  const start = project === undefined ? program : `${program} --project ${quote(project)}`;
  return (strings, ...values) => {
    let text = strings[0] ?? '';
    values.forEach((v, i) => {
      text += quote(String(v)) + (strings[i + 1] ?? '');
    });
    return `${start} ${text}`;
  };
}

/**
 * `ssh ALIAS` as it works from here. OpenSSH reads the user config of the
 * account's home in the passwd database, not `$HOME`'s; pcc writes the
 * aliases under `$HOME` (`home`). Where the two differ (sudo with HOME kept,
 * a test or container home) the config is named with `-F`.
 */
export function sshWords(alias: string, home: string, passwdHome: string | undefined): string {
  if (passwdHome === undefined || realpathOr(home) === realpathOr(passwdHome)) return `ssh ${quote(alias)}`;
  return `ssh -F ${quote(path.join(home, '.ssh', 'config'))} ${quote(alias)}`;
}

/** The home of this uid in the passwd database; undefined where it has no entry (ssh would refuse to run then anyway). */
export function accountHome(): string | undefined {
  try {
    return userInfo().homedir;
  } catch {
    return undefined;
  }
}

/**
 * A message from anywhere in pcc with its `pcc <command>` hints saying the
 * program as it was started (`run pcc init first` becomes `run node
 * bin/pcc.js init first`). Only `pcc` followed by one of `commands` is a
 * hint; "pcc cannot ..." is prose.
 */
export function asInvoked(message: string, program: string, commands: readonly string[]): string {
  if (program === 'pcc' || commands.length === 0) return message;
  const names = commands.map((c) => c.replace(/[^a-z-]/g, '')).join('|');
  return message.replace(new RegExp(`(^|[\\s('\`])pcc (?=(?:${names})\\b)`, 'g'), (_m, before: string) => `${before}${program} `);
}
