// Bundles the CLI and the playbook API into dist/bundle after tsc: one ES
// module per entry plus shared chunks, loaded lazily as before. Node then
// resolves and reads a handful of files instead of hundreds, and every host of
// a run waits for start-up (bench/engine shows the whole effect).
// ssh2 (native crypto beside its sources), esbuild (its own binary) and the
// AWS SDK (loaded only by the ec2 provider) stay in node_modules.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * Modules whose top level is costly and that most runs never use: each is
 * bundled behind a stand-in that loads it on first use (esbuild wraps a
 * required module in a lazy initializer). `call`: the module is a function
 * (an ES module's default export, or a CommonJS module.exports); `object`: it
 * is an object, a CommonJS module.exports, used through its properties.
 * - string-width builds an Intl.Segmenter and Unicode-set regexes as it
 *   loads, about 20 ms, for yargs' help layout and listr2's terminal view.
 * - handlebars (240 KB) is for template operations and rendered user data,
 *   yet every playbook imports the ops that offer them.
 * - dotenv loads node:crypto (for dotenvx's encrypted files, which pcc does
 *   not read), a few ms on every command; settings are read on demand.
 * - picomatch builds its constants as it loads; `pcc hosts` and `pcc status`
 *   match no pattern.
 */
const lazyModules: Record<string, 'call' | 'object'> = { 'string-width': 'call', handlebars: 'object', dotenv: 'object', picomatch: 'call' };

function lazyStandIns(modules: Record<string, 'call' | 'object'>): Plugin {
  const names = Object.keys(modules);
  const filter = new RegExp(`^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
  return {
    name: 'pcc-lazy-modules',
    setup(b) {
      b.onResolve({ filter }, async (args) => {
        // A CommonJS require (cli-table3's string-width 4) gets the real module: the stand-in is an ES module.
        if (args.pluginData === 'real' || args.kind === 'require-call') return undefined;
        const real = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'real' });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: real.path, namespace: 'pcc-lazy', pluginData: modules[args.path] };
      });
      b.onLoad({ filter: /.*/, namespace: 'pcc-lazy' }, (args) => {
        // A `call` module's function is an ES module's default export or a CommonJS module.exports (picomatch).
        const load = `let real;\nconst load = () => (real ??= ${args.pluginData === 'call' ? `callable(require(${JSON.stringify(args.path)}))` : `require(${JSON.stringify(args.path)})`});\nfunction callable(m) {\n  return typeof m === 'function' ? m : m.default;\n}\n`;
        const contents =
          args.pluginData === 'call'
            ? `${load}export default function lazy(...a) {\n  return load()(...a);\n}\n`
            : `${load}export default new Proxy({}, { get: (_t, key) => load()[key], has: (_t, key) => key in load(), ownKeys: () => Reflect.ownKeys(load()), getOwnPropertyDescriptor: (_t, key) => ({ ...Reflect.getOwnPropertyDescriptor(load(), key), configurable: true }) });\n`;
        return { contents, resolveDir: path.dirname(args.path), loader: 'js' };
      });
    },
  };
}

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outdir = path.join(dist, 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(dist, 'src/cli/main.js'), path.join(dist, 'src/index.js')],
  outbase: dist,
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // CommonJS dependencies inside the bundle still find require, __filename and __dirname (those of the chunk).
  banner: { js: "import { createRequire as __pccCreateRequire } from 'node:module'; const require = __pccCreateRequire(import.meta.url);" },
  define: { __filename: 'import.meta.filename', __dirname: 'import.meta.dirname' },
  plugins: [lazyStandIns(lazyModules)],
  external: ['ssh2', 'node-ssh', 'cpu-features', 'esbuild', '@aws-sdk/*'],
});
