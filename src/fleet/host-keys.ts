import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { isPccError } from '../core/errors.js';
import type { Project } from '../core/project.js';
import { Connection } from '../remote/connection.js';
import { keyTypeOf } from '../remote/connector.js';
import type { Settings } from '../settings/load.js';
import { recordHostKey } from '../sshconfig/index.js';
import type { HostRecord } from '../state/schema.js';

/**
 * What `hosts add` and `hosts import` learned of a host's key: recorded now
 * (`new`), there already (`known`), different from the one pcc trusts for
 * that name (`changed`, not recorded; `message` says the fix), or not seen
 * because the host did not answer (`unreachable`) or was not asked
 * (`skipped`): pcc's first connection to it learns the key, as it does for
 * every host.
 */
export type HostKeyLearned =
  | { host: string; verdict: 'new' | 'known'; type: string; fingerprint: string }
  | { host: string; verdict: 'changed'; type: string; fingerprint: string; message: string }
  | { host: string; verdict: 'unreachable'; message: string }
  /** `--no-connect`: not asked; pcc's first connection learns it. */
  | { host: string; verdict: 'skipped' };

/** As `ssh-keygen -l` prints it: SHA256 of the key blob, base64 without padding. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Trust on first use, at the moment a static host is added: pcc otherwise
 * learns a key only on its own connections, so `ssh NAME` and `pcc sync`
 * (OpenSSH, checking strictly against pcc's known_hosts) would refuse a host
 * that pcc has not connected to yet. One handshake per host, stopped as soon
 * as the host has shown its key: no login, so no key or agent is needed and
 * nothing runs there. One attempt within PCC_CONNECT_TIMEOUT_MS.
 */
export async function learnHostKeys(project: Project, settings: Settings, hosts: readonly HostRecord[]): Promise<HostKeyLearned[]> {
  const limit = pLimit(settings.values.PCC_CONCURRENCY);
  return Promise.all(hosts.map((h) => limit(() => learnOne(project, settings, h))));
}

async function learnOne(project: Project, settings: Settings, host: HostRecord): Promise<HostKeyLearned> {
  let seen: Buffer | undefined;
  try {
    const conn = await Connection.open(
      // No key: the handshake ends before any login.
      { name: host.name, address: host.address, port: host.port, user: host.user },
      {
        home: project.home,
        timeoutMs: settings.values.PCC_CONNECT_TIMEOUT_MS,
        retries: 0,
        verifyHostKey: (_endpoint, blob) => {
          seen = Buffer.from(blob);
          return false;
        },
      },
    );
    conn.close();
  } catch (err) {
    if (seen === undefined) return { host: host.name, verdict: 'unreachable', message: err instanceof Error ? err.message : String(err) };
  }
  if (seen === undefined) return { host: host.name, verdict: 'unreachable', message: `${host.name}: it showed no host key` };
  const type = keyTypeOf(seen);
  const fingerprint = fingerprintOf(seen);
  try {
    const verdict = await recordHostKey(project, host.name, `${type} ${seen.toString('base64')}`);
    return { host: host.name, verdict, type, fingerprint };
  } catch (err) {
    if (isPccError(err)) return { host: host.name, verdict: 'changed', type, fingerprint, message: err.message };
    throw err;
  }
}
