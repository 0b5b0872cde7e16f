import path from 'node:path';
import type { Project } from '../core/project.js';
import type { ProviderName } from '../providers/types.js';

/** pcc's own folder of ssh files: one `<provider>.conf` per provider, plus pcc's known_hosts. */
export function sshConfigDir(project: Project): string {
  return path.join(project.sshDir, 'config.d', 'pcc');
}

/** pcc's own known_hosts, which every generated entry points to. */
export function knownHostsFile(project: Project): string {
  return path.join(sshConfigDir(project), 'known_hosts');
}

export function providerConfigFile(project: Project, provider: ProviderName): string {
  return path.join(sshConfigDir(project), `${provider}.conf`);
}

/**
 * What the user's ~/.ssh/config includes. It is `*.conf`, not `*`: known_hosts
 * lives in the same folder and is not ssh config, and write-file-atomic's temp
 * files (`local.conf.1a2b3c`) must not be read by an ssh that starts mid-write.
 */
export function includePattern(project: Project): string {
  return path.join(sshConfigDir(project), '*.conf');
}

export function userConfigFile(project: Project): string {
  return path.join(project.sshDir, 'config');
}

/** What pcc did to the user's files, so that removing the last provider undoes exactly that. */
export function undoRecordFile(project: Project): string {
  return path.join(sshConfigDir(project), 'undo.json');
}
