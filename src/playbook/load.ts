import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { PccError } from '../core/errors.js';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Playbook } from './define.js';

/**
 * Loads a playbook module (.ts, .mts, .js or .mjs, anywhere on disk).
 *
 * esbuild bundles the playbook with its relative imports into one ES module,
 * cached by the content of every file that went in, so a playbook that has
 * not changed loads as plain JavaScript. Compiling through tsx instead cost
 * about 300 ms per run, a fifth of a whole 20-host run.
 *
 * `pcc` becomes this very pcc, and every other package is resolved where the
 * playbook lives, at build time, to an absolute path: the bundle runs from
 * pcc's cache folder without any module hook.
 */
export async function loadPlaybook(file: string, options: { cacheDir: string }): Promise<Playbook> {
  const entry = path.resolve(file);
  if (!existsSync(entry)) throw new PccError(`playbook ${file} not found; give the path to a .ts or .js playbook module`);
  if (!/\.[mc]?[jt]s$/.test(entry)) throw new PccError(`playbook ${file}: not a .ts or .js file`);
  const compiled = await cachedBuild(entry, options.cacheDir, file);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(compiled).href)) as Record<string, unknown>;
  } catch (err) {
    throw new PccError(`playbook ${file} failed to load: ${(err as Error).message.split('\n')[0]}`);
  }
  const candidate = (mod.default ?? mod.playbook) as Partial<Playbook> | undefined;
  if (!candidate || typeof candidate.run !== 'function' || typeof candidate.name !== 'string') {
    throw new PccError(`playbook ${file} must export default definePlaybook({ name, run })`);
  }
  return candidate as Playbook;
}

interface Manifest {
  key: string;
  inputs: Record<string, string>;
}

async function cachedBuild(entry: string, cacheDir: string, shown: string): Promise<string> {
  const id = sha256(entry).slice(0, 16);
  const output = path.join(cacheDir, `${path.basename(entry).replace(/\.[^.]+$/, '')}-${id}.mjs`);
  const manifestFile = `${output}.json`;
  const key = await buildKey();
  const manifest = parseManifest(await readIfExists(manifestFile));
  if (manifest?.key === key && existsSync(output) && (await inputsUnchanged(manifest.inputs))) return output;

  const { build } = await import('esbuild');
  const readHashes = new Map<string, string>();
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      absWorkingDir: path.dirname(entry),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      metafile: true,
      logLevel: 'silent',
      // CommonJS code in the bundle (a .cjs helper) still finds require.
      banner: { js: "import { createRequire as __pccCreateRequire } from 'node:module'; const require = __pccCreateRequire(import.meta.url);" },
      plugins: [resolveOutside(), keepImportMeta(readHashes)],
    });
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    throw new PccError(`playbook ${shown} does not compile: ${where}${first?.text ?? (err as Error).message}`);
  }
  // Hashes of what the build itself read: a file saved during the build counts as changed next time.
  const inputs: Record<string, string> = {};
  for (const rel of Object.keys(result.metafile.inputs)) {
    const abs = path.resolve(path.dirname(entry), rel);
    inputs[abs] = readHashes.get(abs) ?? sha256(await readFile(abs));
  }
  await writeOwnedFile(output, result.outputFiles[0]!.text);
  await writeOwnedFile(manifestFile, JSON.stringify({ key, inputs } satisfies Manifest));
  return output;
}

/** `pcc` and packages resolve as seen from the playbook, to absolute paths left outside the bundle. */
function resolveOutside(): Plugin {
  return {
    name: 'pcc-resolve-outside',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'pcc-inner' || isBuiltin(args.path) || path.isAbsolute(args.path)) return undefined;
        if (args.path === 'pcc') return { path: pccIndex(), external: true };
        const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'pcc-inner' });
        if (found.errors.length > 0) return { errors: found.errors };
        // An installed package stays outside; a tsconfig path or workspace source is bundled like a relative import.
        return found.path.includes(`${path.sep}node_modules${path.sep}`) ? { path: found.path, external: true } : { path: found.path };
      });
    },
  };
}

/** A bundled file still sees its own import.meta.url, dirname and filename, not the cache's. */
function keepImportMeta(readHashes: Map<string, string>): Plugin {
  return {
    name: 'pcc-keep-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.[mc]?[jt]s$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        readHashes.set(args.path, sha256(source));
        const values: Record<string, string> = {
          url: pathToFileURL(args.path).href,
          dirname: path.dirname(args.path),
          filename: args.path,
        };
        const contents = source.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_m, k: string) => JSON.stringify(values[k]));
        const ext = path.extname(args.path);
        return { contents, loader: ext.includes('t') && ext !== '.mjs' && ext !== '.cjs' ? 'ts' : 'js' };
      });
    },
  };
}

let index: string | undefined;
/**
 * The playbook API of the pcc that is running, so a playbook shares its
 * modules: the bundle's (this code in a chunk of dist/bundle/), tsc's
 * (dist/src/playbook/), or the source under vitest (src/playbook/).
 */
function pccIndex(): string {
  index ??= ['./src/index.js', '../index.js', '../index.ts']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((file) => existsSync(file));
  if (!index) throw new Error('pcc: its own playbook API (index.js) is missing; run npm run build');
  return index;
}

/** A cached bundle is good only for the same pcc and esbuild that made it. */
async function buildKey(): Promise<string> {
  const esbuildPackage = createRequire(import.meta.url).resolve('esbuild/package.json');
  const { version } = JSON.parse(await readFile(esbuildPackage, 'utf8')) as { version: string };
  return sha256(`${pccIndex()}\0esbuild ${version}\0bundle v1`);
}

async function inputsUnchanged(inputs: Record<string, string>): Promise<boolean> {
  for (const [file, hash] of Object.entries(inputs)) {
    const content = await readFile(file).catch(() => undefined);
    if (!content || sha256(content) !== hash) return false;
  }
  return true;
}

function parseManifest(text: string | undefined): Manifest | undefined {
  if (!text) return undefined;
  try {
    const m = JSON.parse(text) as Manifest;
    return typeof m.key === 'string' && m.inputs && typeof m.inputs === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
