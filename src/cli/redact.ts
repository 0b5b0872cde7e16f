import { secretKeys } from '../settings/schema.js';
import type { Settings } from '../settings/load.js';

const HIDDEN = '<redacted>';

/** Shapes of secrets that scripts carry: private keys, WireGuard keys, swarm join tokens, passwords in URLs. */
const patterns: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, HIDDEN],
  [/(PrivateKey\s*=\s*)\S+/gi, `$1${HIDDEN}`],
  [/(PresharedKey\s*=\s*)\S+/gi, `$1${HIDDEN}`],
  [/SWMTKN-1-[\w-]+/g, HIDDEN],
  [/(--token[ =])\S+/g, `$1${HIDDEN}`],
  [/(:\/\/[^/\s:@]+:)[^@\s/]+@/g, `$1${HIDDEN}@`],
];

/** Everything --verbose prints goes through this: secret settings' values and the shapes above are hidden. */
export function redactor(settings: Pick<Settings, 'values'>): (text: string) => string {
  const values = Object.entries(settings.values as Record<string, unknown>)
    .filter(([key, value]) => secretKeys.has(key) && typeof value === 'string' && value.length >= 4)
    .map(([, value]) => value as string);
  return (text) => {
    let out = text;
    for (const v of values) out = out.split(v).join(HIDDEN);
    for (const [re, to] of patterns) out = out.replace(re, to);
    return out;
  };
}
