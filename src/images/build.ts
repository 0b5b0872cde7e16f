import { HostFailedError, PccError, UnreachableError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import type { Project } from '../core/project.js';
import type { Settings } from '../settings/load.js';
import type { StateStore } from '../state/store.js';
import { makeBuilder, pushedDigest, type Builder, type BuilderName } from './builders.js';
import { contextPaths } from './context.js';
import { decide, hashTag, planImages, type ImageSpec } from './plan.js';
import { manifestStatus, resolveRegistry, splitHostPort, type RegistryTarget } from './registry.js';
import { REGISTRY_ARG } from './dockerfile.js';
import type { Connection } from '../remote/connection.js';
import { localRunner, NOT_FOUND, runLocal, type RunResult, type Runner } from './runner.js';

export type ImageOutcome = 'built' | 'skipped' | 'failed' | 'blocked';

export interface ImageResult {
  image: string;
  /** Project-relative folder, e.g. `docker/100-base`. */
  folder: string;
  result: ImageOutcome;
  /** Why it was built (new, changed, ...), why it failed, or what blocked it. */
  reason?: string;
  /** Pushed references: `<registry>/<image>:latest` and `:<hash prefix>`. */
  tags: string[];
  hash?: string;
  digest?: string;
  seconds: number;
  /** The last lines of the builder's output, for a failed build. */
  output?: string[];
}

export interface BuildReport {
  registry: string;
  builder: BuilderName;
  /** The host the builds ran on, when not this machine. */
  on?: string;
  images: ImageResult[];
  notes: string[];
  ok: boolean;
}

export interface BuildOptions {
  project: Project;
  settings: Settings;
  store: StateStore;
  progress: Progress;
  /** --builder; otherwise PCC_BUILDER. */
  builder?: BuilderName;
  force?: boolean;
  /** Where builder commands run; defaults to this machine. The caller closes it. */
  runner?: Runner;
  /** Host name for the report when `runner` is remote. */
  on?: string;
}

/** The label that ties an image to the content it was built from. */
export const HASH_LABEL = 'pcc.content-hash';
const FAILURE_LINES = 20;

/**
 * `pcc build`: plan every docker/NNN-name folder, then build and push, in
 * order, only what changed. A failure blocks the images built FROM it and
 * nothing else.
 */
export async function buildImages(options: BuildOptions): Promise<BuildReport> {
  const { settings, store, progress } = options;
  const state = await store.read();
  const registry = resolveRegistry(settings.values, settings.origin, state);
  const ownRunner = options.runner === undefined;
  // The controller's registry listens on the overlay only: from here it is reached through SSH.
  const reach = await reachRegistry(options, registry);
  // Builds here push through the tunnel; builds on a host push to the overlay address itself.
  const pushTo = ownRunner ? reach.dial : registry;
  const runner = options.runner ?? localRunner();
  try {
    const plan = await planImages({
      dockerDir: options.project.dockerDir,
      projectRoot: options.project.root,
      registry: pushTo,
      settings,
    });
    const builder = makeBuilder(options.builder ?? settings.values.PCC_BUILDER, { plainHttp: pushTo.plainHttp });
    const session = new BuildSession(builder, runner, pushTo, registry, store, progress);
    // Hashed with the registry's own name, so a build through a tunnel (a new port each time) is not a change.
    const hashSpecs = plan.specs.map((s) => ({ ...s, buildArgs: { ...s.buildArgs, [REGISTRY_ARG]: registry.host } }));
    const decisions = await decideAll(hashSpecs, state, Boolean(options.force), progress);
    await dropSkipsMissingFromRegistry(plan.specs, decisions, reach.dial);
    const results: ImageResult[] = [];
    const byImage = new Map<string, ImageResult>();
    for (const spec of plan.specs) {
      const result = await session.run(spec, decisions.get(spec.image)!, byImage);
      results.push(result);
      byImage.set(spec.image, result);
    }
    return {
      registry: registry.host,
      builder: builder.name,
      ...(options.on ? { on: options.on } : {}),
      images: results,
      notes: plan.notes,
      ok: results.every((r) => r.result === 'built' || r.result === 'skipped'),
    };
  } finally {
    if (ownRunner) await runner.close();
    await reach.close();
  }
}

/** Where this machine talks to the registry: itself, or a tunnel through the controller it runs on. */
async function reachRegistry(options: BuildOptions, registry: RegistryTarget): Promise<{ dial: RegistryTarget; close(): Promise<void> }> {
  if (!registry.controller) return { dial: registry, close: async () => undefined };
  const host = (await options.store.read()).hosts[registry.controller];
  if (!host) return { dial: registry, close: async () => undefined };
  const [{ connectorFor }, { openTunnel }] = await Promise.all([import('../fleet/connect.js'), import('../remote/tunnel.js')]);
  let conn: Connection;
  try {
    conn = await (await connectorFor(options.project, options.settings))(host);
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    throw new UnreachableError(host.name, `the registry listens on ${registry.host}, reached through SSH to ${host.name}: ${err.message}; is the controller up (pcc init)?`, { cause: err });
  }
  const { hostname, port } = splitHostPort(registry.host);
  const tunnel = await openTunnel(conn, hostname, port ?? 5000);
  return {
    dial: { ...registry, host: tunnel.local, plainHttp: true, source: `${registry.source}, through SSH` },
    close: async () => {
      await tunnel.close();
      conn.close();
    },
  };
}

type Decided =
  | { action: 'build'; hash: string; reason: string }
  | { action: 'skip'; hash: string; digest?: string }
  | { action: 'fail'; reason: string; output?: string[] }
  | { action: 'block'; reason: string };

/**
 * Runs each folder's `prepare` and hashes it, in order. An image whose
 * prepare fails cannot be hashed, and neither can anything built FROM it.
 */
async function decideAll(
  specs: ImageSpec[],
  state: Awaited<ReturnType<StateStore['read']>>,
  force: boolean,
  progress: Progress,
): Promise<Map<string, Decided>> {
  const decisions = new Map<string, Decided>();
  for (const spec of specs) {
    const hashes: Record<string, string> = {};
    const missing = spec.dependencies.find((d) => !('hash' in decisions.get(d)!));
    if (missing) {
      decisions.set(spec.image, { action: 'block', reason: `blocked by ${missing}` });
      continue;
    }
    for (const dep of spec.dependencies) hashes[dep] = (decisions.get(dep) as { hash: string }).hash;
    if (spec.prepare) {
      progress.host(spec.image, 'running prepare');
      // Always here, in the folder: it makes files for the context that is hashed and uploaded from here.
      const ran = await runLocal({ argv: [spec.prepare], env: spec.buildArgs }, { cwd: spec.dir });
      if (ran.code !== 0) {
        decisions.set(spec.image, { action: 'fail', reason: `prepare failed: ${lastLine(ran.output) ?? `exit ${ran.code}`}`, output: tail(ran.output) });
        continue;
      }
    }
    const decision = await decide(spec, hashes, state, force);
    const rebuiltDep = spec.dependencies.find((d) => decisions.get(d)?.action === 'build');
    if (decision.action === 'build' && decision.reason === 'changed' && rebuiltDep) decision.reason = `${rebuiltDep} changed`;
    decisions.set(spec.image, decision);
  }
  return decisions;
}

/**
 * An unchanged image is only skipped if the registry still has it: a registry
 * that was wiped or replaced gets everything pushed again. Registries that
 * cannot be asked (unreachable, or they want credentials) are trusted.
 */
async function dropSkipsMissingFromRegistry(
  specs: ImageSpec[],
  decisions: Map<string, Decided>,
  registry: RegistryTarget,
): Promise<void> {
  const skipped = specs.filter((s) => decisions.get(s.image)!.action === 'skip');
  const status = await Promise.all(
    skipped.map((s) => manifestStatus(registry, s.image, hashTag((decisions.get(s.image) as { hash: string }).hash), 1_500)),
  );
  skipped.forEach((spec, i) => {
    if (status[i] !== 'missing') return;
    const { hash } = decisions.get(spec.image) as { hash: string };
    decisions.set(spec.image, { action: 'build', hash, reason: 'not in the registry' });
  });
}

class BuildSession {
  private ready = false;

  constructor(
    private readonly builder: Builder,
    private readonly runner: Runner,
    /** Where the builder pushes (a tunnel's loopback end for builds here). */
    private readonly registry: RegistryTarget,
    /** The name hosts pull by, for the report. */
    private readonly named: RegistryTarget,
    private readonly store: StateStore,
    private readonly progress: Progress,
  ) {}

  async run(spec: ImageSpec, decision: Decided, done: Map<string, ImageResult>): Promise<ImageResult> {
    const base = { image: spec.image, folder: spec.rel, tags: [] as string[], seconds: 0 };
    if (decision.action === 'fail') return { ...base, result: 'failed', reason: decision.reason, output: decision.output };
    if (decision.action === 'block') return { ...base, result: 'blocked', reason: decision.reason };
    const tags = [this.ref(spec.image, 'latest'), this.ref(spec.image, hashTag(decision.hash))];
    const named = tags.map((t) => `${this.named.host}${t.slice(this.registry.host.length)}`);
    if (decision.action === 'skip') {
      return { ...base, result: 'skipped', tags: named, hash: decision.hash, digest: decision.digest };
    }
    const blocker = spec.dependencies.find((d) => {
      const r = done.get(d)?.result;
      return r === 'failed' || r === 'blocked';
    });
    if (blocker) return { ...base, result: 'blocked', reason: `blocked by ${blocker}`, hash: decision.hash };

    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 100) / 10;
    try {
      await this.ensureReady();
      const digest = await this.buildAndPush(spec, decision.hash, decision.reason, tags, done);
      await this.store.update((state) => {
        state.images[spec.image] = { hash: decision.hash, digest, builtAt: new Date().toISOString() };
      });
      this.progress.host(spec.image, `pushed ${digest ?? '(no digest reported)'}`);
      return { ...base, result: 'built', reason: decision.reason, tags: named, hash: decision.hash, digest, seconds: seconds() };
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      this.progress.host(spec.image, `failed: ${err.message}`);
      return { ...base, result: 'failed', reason: err.message, tags: [], hash: decision.hash, seconds: seconds(), output: err.output };
    }
  }

  private ref(image: string, tag: string): string {
    return `${this.registry.host}/${image}:${tag}`;
  }

  /** Checked on first use, so that a run with nothing to build needs no builder. */
  private async ensureReady(): Promise<void> {
    if (this.ready) return;
    const probe = await this.runner.run(this.builder.probe());
    const Failure = this.runner.onHost ? HostFailedError : PccError;
    if (probe.code === NOT_FOUND) {
      throw new Failure(`${this.builder.name} is not installed on ${this.runner.where}; ${this.builder.installHint}`);
    }
    if (probe.code !== 0) {
      const why = lastLine(probe.output) ?? `exit ${probe.code}`;
      const fix = this.builder.name === 'docker' ? 'start dockerd or point DOCKER_HOST at one, or use --builder buildah' : 'fix buildah or use --builder docker';
      throw new Failure(`${this.builder.name} cannot build on ${this.runner.where}: ${why}; ${fix}`);
    }
    this.ready = true;
  }

  private async buildAndPush(
    spec: ImageSpec,
    hash: string,
    reason: string,
    tags: string[],
    done: Map<string, ImageResult>,
  ): Promise<string | undefined> {
    const say = (m: string) => this.progress.host(spec.image, m);
    say(`building (${reason})`);
    const context = await this.runner.stageContext(spec.image, spec.dir, await contextPaths(spec.dir));

    // A base that was skipped in this run may be stale or absent in this
    // builder's store: fetch it by its content tag and point `latest` at it,
    // so the FROM line gets exactly the base the hash was computed from.
    for (const dep of spec.dependencies) {
      const depResult = done.get(dep)!;
      if (depResult.result === 'built') continue;
      // Where this builder reaches it (the report names it as hosts do).
      const latest = this.ref(dep, 'latest');
      const exact = this.ref(dep, hashTag(depResult.hash!));
      say(`fetching ${exact}`);
      await this.step(this.builder.pull(exact), `cannot fetch ${exact}`);
      await this.step(this.builder.tag(exact, latest), `cannot tag ${exact}`);
    }

    await this.step(
      this.builder.build({ context, tags, buildArgs: spec.buildArgs, labels: { [HASH_LABEL]: hash } }),
      'build failed',
      (line) => {
        if (/^(Step|STEP) \d+\/\d+/.test(line)) say(line);
      },
    );

    // The content tag first: `latest` moves only once the exact image is there.
    say(`pushing ${tags[1]}`);
    const digestFile = this.builder.digestToFile ? await this.runner.scratchFile(`${spec.image}.digest`) : undefined;
    const pushed = await this.step(this.builder.push(tags[1]!, digestFile), `push of ${tags[1]} failed`);
    const digest = pushedDigest(pushed.output, digestFile ? await this.runner.readScratch(digestFile) : undefined);
    say(`pushing ${tags[0]}`);
    await this.step(this.builder.push(tags[0]!), `push of ${tags[0]} failed`);
    return digest;
  }

  private async step(command: ReturnType<Builder['build']>, what: string, onLine?: (line: string) => void): Promise<RunResult> {
    const result = await this.runner.run(command, onLine);
    if (result.code === 0) return result;
    const why = explain(result.output, this.registry) ?? lastLine(result.output) ?? `exit ${result.code}`;
    throw new StepFailed(`${what}: ${why}`, tail(result.output));
  }
}

class StepFailed extends HostFailedError {
  constructor(
    message: string,
    readonly output: string[],
  ) {
    super(message);
  }
}

/** Known failures with a known fix. */
function explain(output: string, registry: RegistryTarget): string | undefined {
  if (/server gave HTTP response to HTTPS client/.test(output)) {
    return `${registry.host} speaks plain HTTP; add it to "insecure-registries" in /etc/docker/daemon.json (pcc setup does this on hosts), or build on the controller with --on init`;
  }
  if (/connection refused/i.test(output) && output.includes(registry.host)) {
    return `the registry at ${registry.host} (from ${registry.source}) refused the connection; is the controller up (pcc init)?`;
  }
  return undefined;
}

function tail(output: string): string[] {
  return output
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(-FAILURE_LINES);
}

function lastLine(output: string): string | undefined {
  return tail(output).at(-1)?.trim();
}
