import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { PccError } from '../core/errors.js';
import type { NvidiaProvisioning } from '../gpu/flatcar.js';

/**
 * First-boot configuration for Flatcar hosts (and, as cloud-config, for
 * cloud-init images such as the Deep Learning AMI): who may log in, which
 * registry to trust, and what to start. Rendered from the handlebars
 * templates in `cloud-config/`; a project's own `cloud-config/` folder
 * overrides the shipped one file by file.
 */
export interface UserDataInput {
  /** Omitted when one user data serves several machines (EC2 names them itself). */
  hostname?: string;
  role: 'controller' | 'compute';
  sshAuthorizedKeys: string[];
  /** `host:port` of the project registry, trusted over plain HTTP (it is only reachable over the overlay). */
  registryHost?: string;
  /** A Flatcar GPU host: the NVIDIA driver and container toolkit sysexts it enables at first boot. */
  nvidia?: NvidiaProvisioning;
  /** The login user that gets the keys; Flatcar's is `core`. */
  user?: string;
  /** Flatcar-only files (update strategy) are left out for other distributions. */
  flatcar?: boolean;
}

export const IGNITION_TEMPLATE = 'ignition.json.hbs';
export const CLOUD_CONFIG_TEMPLATE = 'cloud-config.yaml.hbs';

/** Ignition spec 3.4.0 JSON (Flatcar ≥ 3815 reads it), one line. */
export function renderIgnition(input: UserDataInput, templatesDir?: string): string {
  const file = templatePath(IGNITION_TEMPLATE, templatesDir);
  const text = renderTemplate(file, input);
  let config: { ignition?: { version?: unknown } };
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new PccError(`${file}: the rendered Ignition config is not JSON (${(err as Error).message}); fix the template`);
  }
  if (typeof config.ignition?.version !== 'string' || !config.ignition.version.startsWith('3.')) {
    throw new PccError(`${file}: the rendered config has no ignition.version 3.x; fix the template`);
  }
  return `${JSON.stringify(config)}\n`;
}

/** `#cloud-config` YAML, for coreos-cloudinit (older Flatcar, Vagrant boxes) and cloud-init. */
export function renderCloudConfig(input: UserDataInput, templatesDir?: string): string {
  const file = templatePath(CLOUD_CONFIG_TEMPLATE, templatesDir);
  const text = renderTemplate(file, input);
  if (!text.startsWith('#cloud-config\n')) {
    throw new PccError(`${file}: the rendered text must start with a '#cloud-config' line; fix the template`);
  }
  return text;
}

/** The project's template if it has one, else the one pcc ships. */
export function templatePath(name: string, overrideDir?: string): string {
  if (overrideDir) {
    const own = path.join(overrideDir, name);
    if (existsSync(own)) return own;
  }
  return path.join(shippedTemplatesDir(), name);
}

let shipped: string | undefined;

/**
 * `cloud-config/` at the package root. This file runs from `src/render/`
 * under vitest and from `dist/src/render/` after tsc, so walk up to the
 * folder that holds package.json rather than count `..`.
 */
export function shippedTemplatesDir(): string {
  if (shipped) return shipped;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'cloud-config'))) {
      return (shipped = path.join(dir, 'cloud-config'));
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('pcc package root (with cloud-config/) not found above src/render');
    dir = parent;
  }
}

function renderTemplate(file: string, input: UserDataInput): string {
  const view = templateView(input);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PccError(`${file}: cannot read the template (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    // A misspelt field must be an error, not an empty string (or a false #if) in someone's boot config.
    const unknown = fieldsUsed(source).find((f) => !(f in view));
    if (unknown) throw new Error(`unknown field '${unknown}'; known fields: ${Object.keys(view).join(', ')}`);
    return hbs.compile(source, { strict: true, noEscape: true })(view);
  } catch (err) {
    throw new PccError(`${file}: ${oneLine((err as Error).message)}; fix the template`);
  }
}

/** Every field the templates may use, present (null/false when unset) so that strict mode can catch typos. */
function templateView(input: UserDataInput) {
  if (input.sshAuthorizedKeys.length === 0) {
    throw new PccError('no SSH public key to put on the host; check PCC_SSH_KEY');
  }
  if (input.hostname !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(input.hostname)) {
    throw new PccError(`host name '${input.hostname}' is not a valid hostname; use lowercase letters, digits and dashes`);
  }
  return {
    hostname: input.hostname ?? null,
    role: input.role,
    user: input.user ?? 'core',
    sshAuthorizedKeys: input.sshAuthorizedKeys.map((k) => k.trim()),
    registryHost: input.registryHost ?? null,
    nvidia: input.nvidia
      ? {
          enabledSysextConf: `${input.nvidia.driverSysext}\n`,
          runtimeSource: input.nvidia.runtime.url,
          runtimePath: input.nvidia.runtime.path,
          runtimeLink: input.nvidia.runtime.link,
        }
      : null,
    flatcar: input.flatcar ?? true,
    dockerDaemonJson: input.registryHost ? `${JSON.stringify({ 'insecure-registries': [input.registryHost] }, null, 2)}\n` : null,
  };
}

const hbs = Handlebars.create();
/** A JSON string/number/array literal: safe in JSON and in YAML (JSON is YAML). */
hbs.registerHelper('json', (value: unknown, options: Handlebars.HelperOptions) => JSON.stringify(defined(value, 'json', options)));
/** An RFC 2397 data URL, which is how Ignition carries inline file contents. */
hbs.registerHelper('dataUrl', (value: unknown, options: Handlebars.HelperOptions) =>
  `data:,${encodeURIComponent(String(defined(value, 'dataUrl', options)))}`,
);
hbs.registerHelper('line', (value: unknown, options: Handlebars.HelperOptions) => `${String(defined(value, 'line', options))}\n`);

/** strict mode does not check helper arguments, so a misspelt field reaches the helper as undefined. */
function defined(value: unknown, helper: string, options: Handlebars.HelperOptions): unknown {
  if (value !== undefined) return value;
  const line = (options as { loc?: { start?: { line?: number } } }).loc?.start?.line;
  throw new Error(`${helper} got an undefined value${line ? ` on line ${line}` : ''} (a misspelt field?)`);
}

/** Every field name a template reads, wherever it appears (mustache, block or helper argument). */
function fieldsUsed(source: string): string[] {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; original?: string; parts?: string[]; data?: boolean; loc?: unknown };
    if (n.type === 'PathExpression') {
      const head = n.parts?.[0];
      if (head && !n.data && !(n.original ?? '').startsWith('this') && !(head in hbs.helpers)) found.add(head);
      return;
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'loc') visit(v);
  };
  visit(hbs.parse(source));
  return [...found];
}

function oneLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !/^-*\^$/.test(l));
  const first = lines[0] ?? message;
  const expecting = lines.find((l) => l.startsWith('Expecting'));
  return expecting && expecting !== first ? `${first} ${expecting}` : first;
}
