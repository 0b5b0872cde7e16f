import { existsSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
    register(new URL('./resolve-hook.js', import.meta.url), {
      data: { pccUrl: new URL('../index.js', import.meta.url).href },
    });
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
  const candidate = (mod.default ?? mod.playbook) as Partial<Playbook> | undefined;
  if (!candidate || typeof candidate.run !== 'function' || typeof candidate.name !== 'string') {
    throw new PccError(`playbook ${file} must export default definePlaybook({ name, run })`);
  }
  return candidate as Playbook;
}
