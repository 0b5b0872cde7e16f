import path from 'node:path';
import type { Project } from '../core/project.js';
import type { ProviderName } from '../providers/types.js';

/**
 * pcc's own folder of ssh files, shared by every project in this home: one
 * `<project>.<provider>.conf` per project and provider, one
 * `<project>.known_hosts` per project, and the undo record of what pcc did to
 * the user's files. A project is `<folder name>-<id>`, so two folders of one
 * name never share a file, and a person can tell whose file it is.
 */
export function sshConfigDir(project: Project): string {
  return path.join(project.sshDir, 'config.d', 'pcc');
}

/** The prefix of this project's files in pcc's folder. */
export function projectFilePrefix(project: Project): string {
  return `${project.name}-${project.id}`;
}

/**
 * This project's known_hosts, which its generated entries point to. Per
 * project because entries are keyed by host name (HostKeyAlias), and two
 * projects may both have an `init`.
 */
export function knownHostsFile(project: Project): string {
  return path.join(sshConfigDir(project), `${projectFilePrefix(project)}.known_hosts`);
}

export function providerConfigFile(project: Project, provider: ProviderName): string {
  return path.join(sshConfigDir(project), `${projectFilePrefix(project)}.${provider}.conf`);
}

/** Whose file a `.conf` in pcc's folder is: the project prefix and the provider; an older pcc's `<provider>.conf` has no prefix. */
export function parseConfigFileName(file: string): { prefix?: string; provider: ProviderName } {
  const base = path.basename(file, '.conf');
  const dot = base.lastIndexOf('.');
  return dot < 0 ? { provider: base as ProviderName } : { prefix: base.slice(0, dot), provider: base.slice(dot + 1) as ProviderName };
}

/**
 * What the user's ~/.ssh/config includes. It is `*.conf`, not `*`: known_hosts
 * files live in the same folder and are not ssh config, and write-file-atomic's
 * temp files (`x.local.conf.1a2b3c`) must not be read by an ssh that starts mid-write.
 */
export function includePattern(project: Project): string {
  return path.join(sshConfigDir(project), '*.conf');
}

export function userConfigFile(project: Project): string {
  return path.join(project.sshDir, 'config');
}

/** What pcc did to the user's files, so that removing the last project's last provider undoes exactly that. */
export function undoRecordFile(project: Project): string {
  return path.join(sshConfigDir(project), 'undo.json');
}
