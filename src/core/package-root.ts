import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pcc's own package folder and package.json, found upward from this module:
 * the same from the checkout, the bundle (dist/bundle/...) and an npm install,
 * whatever the current folder.
 */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): { dir: string; version: string } | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pcc' && pkg.version) return { dir, version: pkg.version };
    } catch {
      // no package.json here: look further up
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}
