import { PccError } from '../core/errors.js';
import { PROVIDER_NAMES, providerEntry } from './registry.js';
import type { Provider } from './types.js';

/** Providers load lazily: the AWS SDK alone costs more than `pcc --help` may take. */
export async function loadProvider(name: string): Promise<Provider<any>> {
  const entry = providerEntry(name);
  if (!entry) throw new PccError(`unknown provider '${name}'; use one of: ${PROVIDER_NAMES.join(', ')}`);
  return entry.load();
}
