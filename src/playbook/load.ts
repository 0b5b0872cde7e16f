import { existsSync } from 'node:fs';
import Module, { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PccError } from '../core/errors.js';
import type { Playbook } from './define.js';

let hookRegistered = false;

/**
 * Loads a playbook module: `.js`/`.mjs` natively, `.ts` through tsx, loaded
 * only then because it is the costliest import pcc has.
 */
export async function loadPlaybook(file: string): Promise<Playbook> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new PccError(`playbook ${file} not found; give the path to a .ts or .js playbook module`);
  if (!hookRegistered) {
    aliasPcc();
    hookRegistered = true;
  }
  let mod: Record<string, unknown>;
  try {
    if (/\.[cm]?ts$/.test(abs)) {
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
    } else {
      mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    }
  } catch (err) {
    throw new PccError(`playbook ${file} failed to load: ${(err as Error).message.split('\n')[0]}`);
  }
  // A playbook compiled to CommonJS arrives wrapped once more: { default: { default: playbook } }.
  let candidate = (mod.default ?? mod.playbook) as (Partial<Playbook> & { default?: unknown }) | undefined;
  if (candidate && typeof candidate.run !== 'function' && candidate.default) candidate = candidate.default as Partial<Playbook>;
  if (!candidate || typeof candidate.run !== 'function' || typeof candidate.name !== 'string') {
    throw new PccError(`playbook ${file} must export default definePlaybook({ name, run })`);
  }
  return candidate as Playbook;
}

/**
 * `import ... from 'pcc'` resolves to this pcc for ESM playbooks (a loader
 * hook) and for playbooks tsx compiles to CommonJS, which is what a `.ts`
 * outside any `"type": "module"` package becomes (Node 20.19+ can require ESM).
 */
function aliasPcc(): void {
  const index = new URL('../index.js', import.meta.url);
  register(new URL('./resolve-hook.js', import.meta.url), { data: { pccUrl: index.href } });
  const cjs = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = cjs._resolveFilename;
  const target = fileURLToPath(index);
  cjs._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'pcc' ? target : original.call(this, request, ...rest);
  };
}
