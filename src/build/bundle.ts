// Bundles the CLI and the playbook API into dist/bundle after tsc: one ES
// module per entry plus shared chunks, loaded lazily as before. Node then
// resolves and reads a handful of files instead of hundreds, and every host of
// a run waits for start-up (bench/engine shows the whole effect).
// ssh2 (native crypto beside its sources), esbuild (its own binary) and the
// AWS SDK (loaded only by the ec2 provider) stay in node_modules.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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
  external: ['ssh2', 'node-ssh', 'cpu-features', 'esbuild', '@aws-sdk/*'],
});
