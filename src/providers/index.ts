import { PccError } from '../core/errors.js';
import type { Provider, ProviderName } from './types.js';

/** Providers load lazily: the AWS SDK alone costs more than `pcc --help` may take. */
export async function loadProvider(name: string): Promise<Provider> {
  switch (name as ProviderName) {
    case 'local':
      return (await import('./local/index.js')).localProvider;
    case 'vagrant':
      return (await import('./vagrant/index.js')).vagrantProvider;
    case 'ec2':
      return (await import('./ec2/index.js')).ec2Provider;
    case 'static':
      return (await import('./static/index.js')).staticProvider;
    default:
      throw new PccError(`unknown provider '${name}'; use one of: local, vagrant, ec2, static`);
  }
}
