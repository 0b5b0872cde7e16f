import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { UserInputError } from '../core/errors.js';
import type { SettingsValues } from '../settings/schema.js';
import type { State } from '../state/schema.js';

/** The host that runs the registry, as `pcc init` records it. */
export { CONTROLLER_NAME as CONTROLLER } from '../core/controller.js';
import { CONTROLLER_NAME as CONTROLLER } from '../core/controller.js';

export interface RegistryTarget {
  /** `host:port` as written in `FROM ${REGISTRY_HOST}/name`. */
  host: string;
  /** Where the value came from, for messages. */
  source: string;
  /** pcc's registry serves plain HTTP on loopback and private networks; anything else is assumed to speak TLS. */
  plainHttp: boolean;
  /**
   * The controller whose registry this is. It listens on the overlay only, so
   * this machine reaches it through an SSH tunnel to that host.
   */
  controller?: string;
}

export function resolveRegistry(
  values: Pick<SettingsValues, 'REGISTRY_HOST' | 'REGISTRY_PORT'>,
  origin: Readonly<Record<string, string>>,
  state: Pick<State, 'hosts'>,
): RegistryTarget {
  const configured = values.REGISTRY_HOST?.trim();
  if (configured) {
    const where = origin.REGISTRY_HOST ?? 'config';
    if (/^[a-z]+:\/\//i.test(configured) || configured.includes('/')) {
      throw new UserInputError(`${where}: REGISTRY_HOST=${configured} must be host:port only, e.g. 10.214.0.1:5000 (no scheme, no path)`);
    }
    const host = withRegistryPort(configured, values.REGISTRY_PORT);
    return { host, source: where, plainHttp: isPlainHttpHost(host) };
  }
  const controller = state.hosts[CONTROLLER];
  if (controller) {
    // The name every host pulls by: the hub's overlay address, where the registry listens.
    const host = `${formatAddress(controller.overlayAddress ?? controller.address)}:${values.REGISTRY_PORT}`;
    return { host, source: `the controller (${CONTROLLER})`, plainHttp: isPlainHttpHost(host), controller: CONTROLLER };
  }
  throw new UserInputError('no registry: run pcc init to bring up the controller, or set REGISTRY_HOST=host:port in config/');
}

/** REGISTRY_HOST always means host:port: REGISTRY_PORT is added only where no port was written. */
export function withRegistryPort(hostOrHostPort: string, port: number): string {
  return splitHostPort(hostOrHostPort).port === undefined ? `${formatAddress(hostOrHostPort)}:${port}` : hostOrHostPort;
}

/** The registry named in the settings, as host:port, for first-boot configs (Ignition, cloud-config). */
export function configuredRegistryHost(values: Pick<SettingsValues, 'REGISTRY_HOST' | 'REGISTRY_PORT'>): string | undefined {
  const configured = values.REGISTRY_HOST?.trim();
  return configured ? withRegistryPort(configured, values.REGISTRY_PORT) : undefined;
}

function formatAddress(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

export function splitHostPort(hostPort: string): { hostname: string; port?: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!m) return { hostname: hostPort };
  return { hostname: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : undefined };
}

/** Loopback, RFC 1918 and CGNAT (overlay) addresses, and `localhost`. */
export function isPlainHttpHost(hostPort: string): boolean {
  const { hostname } = splitHostPort(hostPort);
  if (hostname === 'localhost' || hostname === '::1') return true;
  if (isIP(hostname) !== 4) return false;
  const [a, b] = hostname.split('.').map(Number) as [number, number];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}

export const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/**
 * Whether the registry holds `name:tag`: `present`, `missing`, or `unknown`
 * when the registry cannot be asked (unreachable, or it wants credentials).
 */
export function manifestStatus(
  registry: RegistryTarget,
  name: string,
  tag: string,
  timeoutMs = 3_000,
): Promise<'present' | 'missing' | 'unknown'> {
  const { hostname, port } = splitHostPort(registry.host);
  const request = registry.plainHttp ? httpRequest : httpsRequest;
  return new Promise((resolve) => {
    const req = request(
      {
        method: 'HEAD',
        hostname,
        port: port ?? (registry.plainHttp ? 80 : 443),
        path: `/v2/${name}/manifests/${tag}`,
        headers: { Accept: MANIFEST_TYPES },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? 'present' : res.statusCode === 404 ? 'missing' : 'unknown');
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('unknown'));
    req.end();
  });
}
