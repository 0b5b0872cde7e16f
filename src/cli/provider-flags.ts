import { UsageError } from '../core/errors.js';
import { PROVIDERS } from '../providers/registry.js';

/** A flag that belongs to another provider is refused in one line, instead of being ignored. */
export function refuseForeignFlags(provider: string, args: Record<string, unknown>, kind: 'acquireOptions' | 'saveOptions'): void {
  // A flag two providers share (local's and vm's --site) is this provider's when it declares it too.
  const own = new Set(PROVIDERS.find((e) => e.name === provider)?.[kind].map((o) => o.flag) ?? []);
  for (const entry of PROVIDERS) {
    if (entry.name === provider) continue;
    for (const o of entry[kind]) {
      if (own.has(o.flag)) continue;
      const key = o.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (args[key] !== undefined && args[key] !== false) {
        throw new UsageError(`--${o.flag} is for ${entry.name}; ${provider} does not take it (see pcc --help)`);
      }
    }
  }
}
