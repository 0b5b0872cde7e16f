import type { Command } from '../remote/shell.js';

export type BuilderName = 'docker' | 'buildah';
export const builderNames: readonly BuilderName[] = ['docker', 'buildah'];

export interface BuildSpec {
  /** The build context folder; its Dockerfile is the one built. */
  context: string;
  /** Full references, e.g. `127.0.0.1:5000/base:latest`. */
  tags: readonly string[];
  buildArgs: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
}

/**
 * An image builder as pure command builders: every action returns the argv it
 * would run, so tests compare exact commands and the executor decides whether
 * it runs here or on a host over SSH.
 */
export interface Builder {
  readonly name: BuilderName;
  /** How to get the tool, for the one-line error when it is missing. */
  readonly installHint: string;
  /** Succeeds only when the builder can build right now (for docker: the daemon answers). */
  probe(): Command;
  build(spec: BuildSpec): Command;
  /** Makes `ref` available to builds here, fetching it from the registry if needed. */
  pull(ref: string): Command;
  tag(source: string, target: string): Command;
  /** Whether push writes the pushed digest to a file instead of printing it. */
  readonly digestToFile: boolean;
  /** Pushes `ref`, writing the digest to `digestFile` if the builder works that way. */
  push(ref: string, digestFile?: string): Command;
}

export interface BuilderOptions {
  /** The registry speaks plain HTTP (pcc's own registry does). */
  plainHttp: boolean;
}

function flags(name: string, values: Readonly<Record<string, string>>): string[] {
  return Object.keys(values)
    .sort()
    .flatMap((key) => [name, `${key}=${values[key]}`]);
}

/** Tags, build args, labels and the context: the same flags for docker and buildah. */
function buildFlags(spec: BuildSpec): string[] {
  return [
    ...spec.tags.flatMap((t) => ['--tag', t]),
    ...flags('--build-arg', spec.buildArgs),
    ...flags('--label', spec.labels),
    spec.context,
  ];
}

/**
 * The docker CLI against whatever daemon DOCKER_HOST names. Docker decides
 * TLS per registry itself (loopback is always allowed over HTTP; other hosts
 * need `insecure-registries` in daemon.json, which `pcc setup` writes).
 */
export function dockerBuilder(): Builder {
  return {
    name: 'docker',
    installHint: 'install it (apt-get install docker.io) or choose --builder buildah',
    probe: () => ({ argv: ['docker', 'version', '--format', '{{.Server.Version}}'] }),
    build: (spec) => ({
      argv: ['docker', 'build', ...buildFlags(spec)],
    }),
    pull: (ref) => ({ argv: ['docker', 'pull', ref] }),
    tag: (source, target) => ({ argv: ['docker', 'tag', source, target] }),
    // docker prints "<tag>: digest: sha256:... size: N" when the push is done.
    digestToFile: false,
    push: (ref) => ({ argv: ['docker', 'push', ref] }),
  };
}

/**
 * Daemonless buildah with the vfs driver and chroot isolation, which work
 * without overlayfs, user namespaces or a runtime that handles cgroups.
 * `--format docker` keeps HEALTHCHECK and SHELL, which OCI images drop.
 */
export function buildahBuilder(options: BuilderOptions): Builder {
  const buildah = ['buildah', '--storage-driver', 'vfs'];
  const tls = options.plainHttp ? ['--tls-verify=false'] : [];
  return {
    name: 'buildah',
    installHint: 'install it (apt-get install buildah) or choose --builder docker',
    probe: () => ({ argv: [...buildah, 'version'] }),
    build: (spec) => ({
      argv: [...buildah, 'build', '--isolation', 'chroot', '--format', 'docker', '--layers', ...buildFlags(spec)],
    }),
    pull: (ref) => ({ argv: [...buildah, 'pull', '--policy', 'missing', ...tls, ref] }),
    tag: (source, target) => ({ argv: [...buildah, 'tag', source, target] }),
    digestToFile: true,
    push: (ref, digestFile) => ({
      argv: [...buildah, 'push', ...tls, ...(digestFile ? ['--digestfile', digestFile] : []), ref, `docker://${ref}`],
    }),
  };
}

export function makeBuilder(name: BuilderName, options: BuilderOptions): Builder {
  return name === 'buildah' ? buildahBuilder(options) : dockerBuilder();
}

const DIGEST = /\bdigest: (sha256:[0-9a-f]{64})\b/;

/** The pushed manifest's digest, from buildah's digest file or docker's push output. */
export function pushedDigest(output: string, digestFileText: string | undefined): string | undefined {
  const fromFile = digestFileText?.trim();
  if (fromFile && /^sha256:[0-9a-f]{64}$/.test(fromFile)) return fromFile;
  return DIGEST.exec(output)?.[1];
}
