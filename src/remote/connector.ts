import { UnreachableError } from '../core/errors.js';
import { resolveKeyPath, type Project } from '../core/project.js';
import type { Settings } from '../settings/load.js';
import type { HostRecord } from '../state/schema.js';
import { Connection } from './connection.js';

/** pcc's known_hosts as the SSH layer sees it: trust on first use, refuse a changed key. */
export interface HostKeyStore {
  check(hostName: string, keyType: string, keyBase64: string): 'known' | 'new' | 'changed';
  remember(hostName: string, keyType: string, keyBase64: string): Promise<void>;
}

export type Connector = (host: HostRecord) => Promise<Connection>;

/** `preamble`: the line every session and command runs first, for the host's login user (see Connection's option). */
export function createConnector(project: Project, settings: Settings, keys: HostKeyStore, options: { preamble?: (user: string) => string } = {}): Connector {
  return async (host) => {
    let seen: { type: string; b64: string; verdict: 'known' | 'new' | 'changed' } | undefined;
    const conn = await Connection.open(
      { name: host.name, address: host.address, port: host.port, user: host.user, key: resolveKeyPath(host.key ?? settings.values.PCC_SSH_KEY, project) },
      {
        home: project.home,
        timeoutMs: settings.values.PCC_CONNECT_TIMEOUT_MS,
        retries: settings.values.PCC_CONNECT_RETRIES,
        ...(options.preamble ? { preamble: options.preamble(host.user) } : {}),
        verifyHostKey: (_endpoint, blob) => {
          const type = keyTypeOf(blob);
          const b64 = blob.toString('base64');
          seen = { type, b64, verdict: keys.check(host.name, type, b64) };
          return seen.verdict !== 'changed';
        },
      },
    ).catch((err: unknown) => {
      if (seen?.verdict === 'changed') {
        // The host cannot be trusted, so it is not reached: Ansible's UNREACHABLE, with the fix.
        throw new UnreachableError(
          host.name,
          `${host.name}: host key changed (${seen.type}); if ${host.name} was rebuilt, remove the old key: pcc forgets it on destroy, or run ssh-keygen -R ${host.name} -f <pcc known_hosts>`,
        );
      }
      throw err;
    });
    if (seen?.verdict === 'new') await keys.remember(host.name, seen.type, seen.b64);
    return conn;
  };
}

/** An SSH public key blob starts with its type as a length-prefixed string. */
export function keyTypeOf(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('ascii');
}
