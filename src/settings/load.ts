import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import osaDistance from 'damerau-levenshtein';
import { PccError } from '../core/errors.js';
import type { Project } from '../core/project.js';
import { noteSecret, secretLookingName } from '../core/secrets.js';
import { readDotenvFile } from './dotenv-file.js';
import { reservedPrefixes, secretKeys, settingsSchema, type SettingsValues } from './schema.js';

export interface Settings {
  readonly values: SettingsValues;
  /** Playbook variables: `config/vars.env` and the free keys of `config/.private`. */
  readonly vars: Readonly<Record<string, string>>;
  /** Which file each key came from, for error messages. */
  readonly origin: Readonly<Record<string, string>>;
}

const PRIVATE_FILE = '.private';
/** Free playbook variables; every other `config/*.env` holds pcc's settings only. */
export const VARS_FILE = 'vars.env';

/**
 * Reads `config/*.env` (sorted) and then `config/.private`. A key set in two
 * files is an error, because which one wins would be a guess. Known keys set in
 * the process environment win over the files, as dotenv does, so CI and tests
 * can override without editing files.
 *
 * Every line is read or refused: a line dotenv cannot parse, a key in the wrong
 * case and a key pcc does not know are errors naming the file and the line.
 * Playbook variables live in `config/vars.env` (secret ones in
 * `config/.private`), so a typo in a settings file cannot pass as a variable.
 */
export function loadSettings(project: Project, env: NodeJS.ProcessEnv = process.env): Settings {
  const raw: Record<string, string> = {};
  const origin: Record<string, string> = {};
  const vars: Record<string, string> = {};
  const known = settingsSchema.shape;
  for (const file of configFiles(project.configDir)) {
    const rel = path.relative(project.root, file);
    const base = path.basename(file);
    if (base === PRIVATE_FILE) refuseReadableByOthers(file, rel);
    for (const { key, value, line } of readDotenvFile(file, rel) ?? []) {
      const earlier = origin[key];
      if (earlier !== undefined) {
        throw new PccError(`${rel}:${line}: ${key} is already set in ${earlier}; keep it in one file only`);
      }
      const isSetting = key in known;
      // Never printed: every value of config/.private, and variables whose name says secret.
      if (base === PRIVATE_FILE || (!isSetting && secretLookingName(key))) noteSecret(value);
      if (base === VARS_FILE || (base === PRIVATE_FILE && !isSetting)) {
        checkVariableKey(key, `${rel}:${line}`);
        vars[key] = value;
      } else if (!isSetting) {
        throw new PccError(`${rel}:${line}: ${unknownSettingHint(key)}`);
      } else if (secretKeys.has(key) && base !== PRIVATE_FILE) {
        throw new PccError(`${rel}:${line}: ${key} is a secret; move it to config/${PRIVATE_FILE} (chmod 600)`);
      } else raw[key] = value;
      origin[key] = rel;
    }
  }

  for (const key of Object.keys(known)) {
    const fromEnv = env[key];
    if (fromEnv !== undefined && fromEnv !== '') {
      raw[key] = fromEnv;
      origin[key] = 'the environment';
    }
  }

  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const where = origin[key] ?? 'config';
    const shown = secretKeys.has(key) ? '(hidden)' : JSON.stringify(raw[key]);
    throw new PccError(`${where}: ${key}=${shown} is invalid: ${issue.message}; fix the value or remove the line for the default`);
  }
  const values = result.data;
  // The secret settings from the environment too.
  for (const key of secretKeys) {
    const value = (values as Record<string, unknown>)[key];
    if (typeof value === 'string') noteSecret(value);
  }
  if (origin.EC2_REGION === undefined) {
    const fallback = awsRegion(values, env);
    if (fallback) {
      values.EC2_REGION = fallback.region;
      origin.EC2_REGION = fallback.from;
    }
  }
  return { values, vars, origin };
}

/** The settings with some values from the command line, which win over the files and the environment. */
export function withOverrides(settings: Settings, values: Partial<SettingsValues>, from: string): Settings {
  const origin = { ...settings.origin };
  for (const key of Object.keys(values)) origin[key] = from;
  return { ...settings, values: { ...settings.values, ...values }, origin };
}

/**
 * The region when EC2_REGION is not set, in the AWS CLI's order: AWS_REGION,
 * AWS_DEFAULT_REGION, then the `region` of the profile (AWS_PROFILE, else
 * `default`) in ~/.aws/config (or AWS_CONFIG_FILE).
 */
export function awsRegion(values: SettingsValues, env: NodeJS.ProcessEnv): { region: string; from: string } | undefined {
  if (values.AWS_REGION) return { region: values.AWS_REGION, from: 'AWS_REGION' };
  if (values.AWS_DEFAULT_REGION) return { region: values.AWS_DEFAULT_REGION, from: 'AWS_DEFAULT_REGION' };
  const file = env.AWS_CONFIG_FILE || path.join(env.HOME || '', '.aws', 'config');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const profile = values.AWS_PROFILE ?? 'default';
  const region = profileRegion(text, profile);
  return region ? { region, from: `the region of AWS profile ${profile} in ${file}` } : undefined;
}

/** `region = X` in `[profile NAME]` (or `[default]`) of an AWS config file. */
export function profileRegion(text: string, profile: string): string | undefined {
  const wanted = profile === 'default' ? ['default', 'profile default'] : [`profile ${profile}`];
  let inSection = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) inSection = wanted.includes(section[1]!);
    else if (inSection) {
      const kv = /^region\s*=\s*(\S+)/.exec(line);
      if (kv) return kv[1];
    }
  }
  return undefined;
}

/**
 * A playbook variable may be named anything but a pcc setting: a setting's
 * name (in any case) or one of pcc's prefixes there is a setting in the wrong
 * file, or a typo of one. `where` is `file:line`.
 */
export function checkVariableKey(key: string, where: string): void {
  const known = settingsSchema.shape;
  const upper = key.toUpperCase();
  if (upper in known) {
    throw new PccError(`${where}: ${key} is a pcc setting, not a variable; move it to ${settingsFileFor(upper)}${upper === key ? '' : ` as ${upper}`}`);
  }
  if (reservedPrefixes.some((p) => upper.startsWith(p))) {
    const hint = closestKey(upper, Object.keys(known));
    throw new PccError(
      `${where}: ${key} uses pcc's prefix ${reservedPrefixes.find((p) => upper.startsWith(p))} but is no setting; ${hint ? `did you mean ${hint} (in ${settingsFileFor(hint)})?` : 'rename the variable'}`,
    );
  }
}

function unknownSettingHint(key: string): string {
  const known = Object.keys(settingsSchema.shape);
  const upper = key.toUpperCase();
  if (upper !== key && known.includes(upper)) return `${key}: setting names are upper case; write ${upper}`;
  const hint = closestKey(upper, known);
  const fix = hint ? `did you mean ${hint}?` : 'see the config/*.env.example files for the known settings';
  return `unknown setting ${key}; ${fix} (playbook variables go in config/${VARS_FILE})`;
}

/** Where the examples put a setting. */
function settingsFileFor(key: string): string {
  if (secretKeys.has(key)) return `config/${PRIVATE_FILE}`;
  const provider = (['LOCAL_', 'VAGRANT_', 'EC2_'] as const).find((p) => key.startsWith(p));
  return provider ? `config/${provider.slice(0, -1).toLowerCase()}.env` : 'a config/*.env settings file';
}

function configFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const envs = names.filter((n) => n.endsWith('.env')).sort();
  if (names.includes(PRIVATE_FILE)) envs.push(PRIVATE_FILE);
  return envs.map((n) => path.join(dir, n));
}

function refuseReadableByOthers(file: string, rel: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new PccError(
      `${rel} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${rel}`,
    );
  }
}

/** The nearest key within three edits; the same distance as the CLI's suggestions (cli/suggest.ts), where a swap of neighbours is one edit. */
export function closestKey(key: string, candidates: string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const c of candidates) {
    const d = osaDistance(key, c).steps;
    if (d <= 3 && (!best || d < best.d)) best = { key: c, d };
  }
  return best?.key;
}
