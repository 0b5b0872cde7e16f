import { packageRoot } from '../core/package-root.js';

/** `pcc --version`: pcc's package.json, from wherever pcc runs. */
export function packageVersion(): string {
  return packageRoot()?.version ?? 'unknown';
}
