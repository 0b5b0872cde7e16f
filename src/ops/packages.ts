import { OperationRefusedError } from '../core/errors.js';
import { osFamily, osRelease } from '../facts/host.js';
import { debPackages } from '../facts/packages.js';
import { quote } from '../remote/shell.js';
import { SYSTEM, type Operation } from './operation.js';

/**
 * Debian/Ubuntu packages installed with apt. Flatcar has no package manager and
 * ships docker and friends in the image, so there is nothing to do there.
 */
export function packages(names: readonly string[]): Operation {
  const os = osRelease;
  const installed = debPackages(names);
  return {
    name: `packages ${names.join(' ')}`,
    facts: [os, installed],
    touches: [SYSTEM, '/usr', '/etc', '/var/lib/dpkg'],
    plan(read) {
      const family = osFamily(read(os));
      if (family === 'flatcar') return undefined;
      if (family !== 'debian') throw new OperationRefusedError(`packages: ${read(os).prettyName} is not supported (apt or Flatcar only)`);
      const have = read(installed);
      const missing = names.filter((n) => !have[n]);
      if (missing.length === 0) return undefined;
      const install = `apt-get install -y -q --no-install-recommends ${missing.map(quote).join(' ')}`;
      return {
        summary: `install ${missing.join(' ')}`,
        commands: [
          {
            argv: ['sh', '-c', `${install} || { apt-get update -q && ${install}; }`],
            env: { DEBIAN_FRONTEND: 'noninteractive' },
          },
        ],
      };
    },
  };
}
