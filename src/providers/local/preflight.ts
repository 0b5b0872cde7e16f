import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { PccError } from '../../core/errors.js';
import { withSbin } from './exec.js';

/** Each tool the local provider runs, and the Debian package that has it. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'systemd-nspawn': 'systemd-container',
  debootstrap: 'debootstrap',
  ip: 'iproute2',
  'ssh-keygen': 'openssh-client',
  mount: 'mount',
  bindfs: 'bindfs',
};

/** Checked before anything is created: half a host is worse than none. */
export function requireRoot(uid: number | undefined = process.getuid?.()): void {
  if (uid !== 0) {
    throw new PccError(
      'the local provider runs hosts with systemd-nspawn, which needs root; run pcc as root (e.g. sudo -E pcc ...)',
    );
  }
}

export function requireTools(tools: string[], searchPath = process.env.PATH ?? ''): void {
  const missing = tools.filter((t) => !onPath(t, searchPath));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))];
  throw new PccError(
    `the local provider needs ${missing.join(', ')}; install with: apt-get install --no-install-recommends ${packages.join(' ')}`,
  );
}

function onPath(tool: string, searchPath: string): boolean {
  return withSbin(searchPath).split(':').some((d) => {
    try {
      accessSync(path.join(d, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
