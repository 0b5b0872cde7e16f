import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { PccError } from '../../core/errors.js';

/**
 * What the Vagrant path needs on the user's machine, checked before anything
 * runs so that the user gets one line naming the missing tool and its fix
 * instead of a page of vagrant output.
 */
const TOOLS = [
  {
    file: 'vagrant',
    fix: 'vagrant is not installed (not on PATH); install it with `apt-get install --no-install-recommends vagrant` or from https://developer.hashicorp.com/vagrant/install',
  },
  {
    file: 'VBoxManage',
    fix: 'VirtualBox is not installed (VBoxManage is not on PATH); install it from https://www.virtualbox.org/wiki/Downloads, or use the local provider (pcc init --provider local)',
  },
] as const;

/** The fix line for the first missing tool, or undefined when both are there. */
export function missingTool(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return TOOLS.find((t) => !onPath(t.file, env))?.fix;
}

export function requireTools(env: NodeJS.ProcessEnv = process.env): void {
  const fix = missingTool(env);
  if (fix) throw new PccError(fix);
}

function onPath(file: string, env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(path.join(dir, file), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}
