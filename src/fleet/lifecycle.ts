import { errorMessage, PccError, UnreachableError } from '../core/errors.js';
import type { Connection } from '../remote/connection.js';
import type { Connector } from '../remote/connector.js';
import { withOverrides } from '../settings/load.js';
import { selectHosts } from '../inventory/pattern.js';
import { loadProvider } from '../providers/index.js';
import { checkAcquireCap, checkResumeCap, describeAcquirePrice, priceAcquire, priceOfSpec, type AcquirePrice } from './costs.js';
import { status } from './status.js';
import type { AcquireRequest, BootWait, DestroyReport, Provider, ProviderContext, ProviderName, SaveRequest } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { refreshAliases } from './aliases.js';
import { providerAliasHosts } from '../sshconfig/index.js';
import { connectorFor } from './connect.js';
import { forgetOverlayKey } from './overlay-members.js';
import { forgetSwarmNodes } from './swarm.js';
import { attachAtAcquire, checkVolumeForAcquire, detachFrom } from './volumes.js';
import type { VolumeRecord } from '../state/schema.js';
import { describeStep, planAcquire, planRelease, planResume, planSave, type ListedHost, type Spec, type Step } from './reconcile.js';

/**
 * The lifecycle use cases, the same for every provider: each asks the
 * provider what exists, plans with `reconcile.ts`, prints the plan (all
 * that `--dry` does) and runs its steps through the provider's primitives.
 */

export interface AcquireOutcome {
  plan: Step[];
  hosts: HostRecord[];
  aliases: string[];
  /** Hosts that did not answer on SSH in time (only with wait). */
  unreachable: { host: string; error: string }[];
  /** `--volume`: the volume and the host it is now attached to. */
  volume?: VolumeRecord;
  /** What the hosts brought up cost per hour, and the project's total (absent when they cost nothing). */
  price?: AcquirePrice;
  /** The user said no to the price (see AcquireOptions.approve): nothing was started or created. */
  declined?: boolean;
}

export interface AcquireOptions {
  /**
   * Asked once the plan's price is known, before anything is started or
   * created (the CLI's question on a terminal); false: nothing is launched.
   * Not asked under --dry, nor when the plan costs nothing.
   */
  approve?(price: AcquirePrice): Promise<boolean>;
}

/** Runs `fn` once, however often the result is asked for. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** Runs planned steps; what each primitive started, made or removed is collected for the report. */
async function runSteps<D>(
  provider: Provider<D>,
  steps: readonly Step[],
  ctx: ProviderContext,
  extra: { spec?: Spec<D>; save?: SaveRequest } = {},
): Promise<{ removed: string[]; up: HostRecord[] }> {
  const removed: string[] = [];
  const up: HostRecord[] = [];
  for (const step of steps) {
    ctx.progress.note(`${ctx.dry ? 'plan: ' : ''}${describeStep(provider.name, step)}`);
    switch (step.op) {
      case 'start':
        up.push(...(await provider.start(step.hosts, ctx)));
        break;
      case 'create':
        up.push(...(await provider.create(extra.spec!, step.count, ctx)));
        break;
      case 'stop':
        await provider.stop(step.hosts, extra.save ?? {}, ctx);
        break;
      case 'terminate': {
        // Swarm first: the manager forgets the nodes while it can still be told which.
        const state = await ctx.state.read();
        if (!ctx.dry) removed.push(...(await forgetSwarmNodes(step.hosts.flatMap((h) => (state.hosts[h] ? [state.hosts[h]] : [])), ctx)));
        removed.push(...(await provider.terminate(step.hosts, ctx)));
        if (!ctx.dry) for (const h of step.hosts) await forgetOverlayKey(ctx.project, h);
        break;
      }
    }
  }
  return { removed, up };
}

const locked = <D, T>(provider: Provider<D>, ctx: ProviderContext, fn: () => Promise<T>): Promise<T> =>
  provider.exclusive ? provider.exclusive(ctx, fn) : fn();

async function hostsNamed(ctx: ProviderContext, names: readonly string[]): Promise<HostRecord[]> {
  const state = await ctx.state.read();
  return names.flatMap((n) => (state.hosts[n] ? [state.hosts[n]] : []));
}

/** `acquire --count N`: exactly N running compute hosts of the spec (see planAcquire). Returns them. */
export async function acquireOn<D>(
  provider: Provider<D>,
  request: AcquireRequest,
  ctx: ProviderContext,
  options: AcquireOptions = {},
): Promise<{ plan: Step[]; hosts: HostRecord[]; price?: AcquirePrice; declined?: boolean }> {
  if (!Number.isInteger(request.count) || request.count < 1 || request.count > 100) {
    throw new PccError(`--count ${request.count}: give a whole number from 1 to 100`);
  }
  return locked(provider, ctx, async () => {
    const spec = await provider.spec(request, ctx);
    const listed = await provider.list(ctx);
    const plan = planAcquire(listed, spec, request.count);
    // The price and what runs now are asked once, for the cap and for what is shown.
    const priced = once(() => priceOfSpec(provider, spec, ctx));
    const running = once(() => status(ctx));
    // The spend cap, before anything is created or started.
    await checkAcquireCap(spec, plan, ctx, running, priced);
    // The price before any money is spent: shown (and in --dry), and asked for where the caller asks.
    const price = await priceAcquire(spec, plan, running, priced);
    if (price) {
      ctx.progress.note(describeAcquirePrice(price));
      if (!ctx.dry && options.approve && !(await options.approve(price))) return { plan, hosts: [], price, declined: true };
    }
    const priceField = price ? { price } : {};
    if (plan.length === 0) ctx.progress.note(`${provider.name}: ${request.count} × ${spec.label} already running; nothing to do (raise --count for more)`);
    // Steps that bring hosts up refresh access themselves; with none, it is refreshed here.
    if (!ctx.dry && plan.length === 0) await provider.refreshAccess?.(spec, ctx);
    const { up } = await runSteps(provider, plan, ctx, { spec });
    if (ctx.dry) return { plan, hosts: [], ...priceField };
    // What ran already, and what the steps brought up: every running host of the spec.
    const before = await hostsNamed(ctx, listed.filter((h) => h.role === 'compute' && h.spec === spec.key && h.state === 'running').map((h) => h.name));
    const upNames = new Set(up.map((h) => h.name));
    return { plan, hosts: [...before.filter((h) => !upNames.has(h.name)), ...up], ...priceField };
  });
}

/** `resume`: start what was saved; never creates anything. */
export async function resumeOn<D>(provider: Provider<D>, ctx: ProviderContext): Promise<{ plan: Step[]; hosts: HostRecord[] }> {
  return locked(provider, ctx, async () => {
    const plan = planResume(await provider.list(ctx));
    // The spend cap, before anything starts: the saved hosts cost again once they run.
    await checkResumeCap(provider, plan, ctx, () => status(ctx));
    await runSteps(provider, plan, ctx);
    return { plan, hosts: ctx.dry ? [] : await hostsNamed(ctx, plan.flatMap((s) => (s.op === 'start' ? s.hosts : []))) };
  });
}

export async function saveOn<D>(provider: Provider<D>, request: SaveRequest, ctx: ProviderContext): Promise<{ plan: Step[]; hosts: HostRecord[] }> {
  return locked(provider, ctx, async () => {
    const plan = planSave(await provider.list(ctx));
    await runSteps(provider, plan, ctx, { save: request });
    return { plan, hosts: ctx.dry ? [] : await hostsNamed(ctx, plan.flatMap((s) => (s.op === 'stop' ? s.hosts : []))) };
  });
}

/** `release`: terminate the named hosts of one provider, leave the rest (and the shared resources) alone. */
export async function releaseOn<D>(provider: Provider<D>, names: readonly string[], ctx: ProviderContext): Promise<{ plan: Step[]; removed: string[] }> {
  return locked(provider, ctx, async () => {
    const listed = await provider.list(ctx);
    // A host the state still records that the provider no longer has (a release killed after its
    // terminate, before it wrote the state) is released all the same: the step finds nothing left
    // to remove and drops its record, overlay key and aliases, as the interrupted run would have.
    const state = await ctx.state.read();
    const gone = names
      .filter((n) => state.hosts[n]?.provider === provider.name && !listed.some((h) => h.name === n))
      .map((name): ListedHost => ({ name, role: 'compute', spec: 'gone', state: 'stopped' }));
    const plan = planRelease([...listed, ...gone], names);
    const { removed } = await runSteps(provider, plan, ctx);
    if (!ctx.dry) await ctx.state.update((state) => detachFrom(state, plan.flatMap((s) => (s.op === 'terminate' ? s.hosts : []))));
    return { plan, removed };
  });
}

/** Provider acquires; pcc then writes aliases and, unless told not to, waits for SSH. */
export async function acquire(providerName: string, request: AcquireRequest, ctx: ProviderContext, options: AcquireOptions = {}): Promise<AcquireOutcome> {
  const provider = await loadProvider(providerName);
  // --volume: checked before anything is made; it goes to a host this acquire brings up.
  const volume = request.volume ? await checkVolumeForAcquire(provider.name, request.volume, ctx) : undefined;
  const runningBefore = volume ? new Set((await provider.list(ctx)).filter((h) => h.state === 'running').map((h) => h.name)) : new Set<string>();
  const { plan, hosts, price, declined } = await acquireOn(provider, request, ctx, options);
  const priceField = price ? { price } : {};
  if (declined) return { plan, hosts: [], aliases: [], unreachable: [], ...priceField, declined };
  if (ctx.dry) {
    if (volume) ctx.progress.note(`plan: attach volume ${volume.name} at ${request.volume!.mountPoint} to the first host brought up`);
    return { plan, hosts, aliases: [], unreachable: [], ...priceField };
  }
  let attached: VolumeRecord | undefined;
  if (volume) {
    const fresh = hosts.filter((h) => !runningBefore.has(h.name));
    if (fresh.length === 0) {
      throw new PccError(
        `--volume ${volume.name}: ${request.count} host(s) of that spec already run and none was brought up to attach it to; raise --count by one for a host with the volume`,
      );
    }
    attached = await attachAtAcquire(request.volume!, fresh[0]!, ctx);
  }
  const aliases = await refreshAliases(ctx, provider.name);
  const unreachable = request.wait ? await waitForSsh(hosts, ctx) : [];
  return { plan, hosts, aliases, unreachable, ...(attached ? { volume: attached } : {}), ...priceField };
}

export async function resumeHosts(providerName: string, ctx: ProviderContext, options: { wait: boolean }): Promise<AcquireOutcome> {
  const provider = await loadProvider(providerName);
  const { plan, hosts } = await resumeOn(provider, ctx);
  if (ctx.dry) return { plan, hosts, aliases: [], unreachable: [] };
  const aliases = await refreshAliases(ctx, provider.name);
  const unreachable = options.wait ? await waitForSsh(hosts, ctx) : [];
  return { plan, hosts, aliases, unreachable };
}

/**
 * The first connection records each host key (trust on first use), so plain
 * `ssh <alias>` works right after. A host whose provider says it may take
 * longer to boot (EC2: EC2_SSH_WAIT_S, else by image) is tried again and
 * again, quietly, until it answers or that time is up; its row says what is
 * still awaited, anew only when that changes.
 */
export async function waitForSsh(hosts: HostRecord[], ctx: ProviderContext): Promise<{ host: string; error: string }[]> {
  const connect = await connectorFor(ctx.project, ctx.settings);
  // While polling, each try is one attempt: the loop is the retry.
  let polling: Connector | undefined;
  const failures: { host: string; error: string }[] = [];
  await Promise.all(
    hosts.map(async (h) => {
      ctx.progress.host(h.name, 'waiting for ssh');
      try {
        const boot = (await loadProvider(h.provider)).bootWait?.(h, ctx);
        if (boot === undefined) (await connect(h)).close();
        else {
          polling ??= await connectorFor(ctx.project, withOverrides(ctx.settings, { PCC_CONNECT_RETRIES: 0 }, 'the boot wait'));
          (await pollSsh(h, boot, polling, ctx)).close();
        }
        ctx.progress.host(h.name, 'ssh ready', 'ok');
      } catch (err) {
        failures.push({ host: h.name, error: errorMessage(err) });
        ctx.progress.host(h.name, `ssh not ready: ${errorMessage(err)}`, 'failed');
      }
    }),
  );
  return failures;
}

/** How long to wait between tries while a host boots. */
const POLL_INTERVAL_MS = 5_000;

/** Tries `connect` until it succeeds or the boot wait is over; a host key that does not match ends it at once. */
async function pollSsh(h: HostRecord, wait: BootWait, connect: Connector, ctx: ProviderContext): Promise<Connection> {
  const deadline = Date.now() + wait.seconds * 1000;
  const where = `${h.address}:${h.port}`;
  let said = '';
  for (;;) {
    try {
      return await connect(h);
    } catch (err) {
      const why = errorMessage(err).replace(`${h.name}: `, '');
      // A changed host key will not change back by waiting.
      if (/host key/.test(why)) throw err;
      const left = deadline - Date.now();
      if (left <= 0) throw new UnreachableError(h.name, `no answer on ${where} in the ${wait.seconds} s a boot may take (${why}); ${wait.fix}`);
      // Said again only when the reason changes: no line per try.
      const what = `booting: waiting for sshd on ${where} (up to ${wait.seconds} s; ${shortReason(why)})`;
      if (what !== said) ctx.progress.host(h.name, what);
      said = what;
      await new Promise((r) => setTimeout(r, Math.min(POLL_INTERVAL_MS, left)));
    }
  }
}

/** The part of a connection error that says what is still awaited. */
function shortReason(why: string): string {
  if (/ECONNREFUSED/.test(why)) return 'the port refuses connections yet';
  if (/refused the key|authentication/.test(why)) return 'sshd answers but does not take the key yet';
  if (/Timed out|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/.test(why)) return 'no answer yet';
  return why;
}

export async function save(providerName: string, request: SaveRequest, ctx: ProviderContext): Promise<HostRecord[]> {
  return (await saveOn(await loadProvider(providerName), request, ctx)).hosts;
}

export interface ReleaseOutcome {
  plan: Step[];
  removed: string[];
  aliases: string[];
}

/**
 * `pcc release HOST...|PATTERN`: the hosts named (or matched) go, with their
 * overlay keys and aliases; every other host stays. The controller is not
 * released (pcc destroy takes it).
 */
export async function release(patterns: readonly string[], ctx: ProviderContext): Promise<ReleaseOutcome> {
  const state = await ctx.state.read();
  const all = Object.values(state.hosts);
  const chosen = new Map<string, HostRecord>();
  for (const p of patterns) for (const h of selectHosts(p, all)) chosen.set(h.name, h);
  const controller = [...chosen.values()].find((h) => h.groups.includes('controller'));
  if (controller) throw new PccError(`${controller.name} is the controller; release takes compute hosts (pcc destroy ${controller.provider} removes everything)`);
  const byProvider = new Map<string, string[]>();
  for (const h of chosen.values()) byProvider.set(h.provider, [...(byProvider.get(h.provider) ?? []), h.name]);
  const out: ReleaseOutcome = { plan: [], removed: [], aliases: [] };
  for (const [name, hosts] of byProvider) {
    const provider = await loadProvider(name);
    const r = await releaseOn(provider, hosts, ctx);
    out.plan.push(...r.plan);
    out.removed.push(...r.removed);
    if (!ctx.dry) out.aliases.push(...(await refreshAliases(ctx, provider.name)));
  }
  return out;
}

/** What `destroy` would remove: the provider's own sweep run dry, plus the ssh aliases of its hosts. */
export async function destroyPlan(providerName: string, ctx: ProviderContext): Promise<DestroyReport> {
  const provider = await loadProvider(providerName);
  const report = await provider.destroy({ ...ctx, dry: true });
  const hosts = Object.values((await ctx.state.read()).hosts).filter((h) => h.provider === provider.name);
  const stale = await staleAliasHosts(provider.name, hosts, ctx);
  return {
    removed: [
      ...report.removed,
      ...hosts.map((h) => `would remove ssh aliases and overlay key of ${h.name}`),
      ...stale.map((name) => `would remove ssh aliases of ${name} (its host is gone already)`),
    ],
  };
}

export async function destroy(providerName: string, ctx: ProviderContext): Promise<DestroyReport> {
  const provider = await loadProvider(providerName);
  const before = Object.values((await ctx.state.read()).hosts).filter((h) => h.provider === provider.name);
  if (ctx.dry) return provider.destroy(ctx);
  const forgotten = await forgetSwarmNodes(before, ctx);
  const report = await provider.destroy(ctx);
  await ctx.state.update((state) => detachFrom(state, before.map((h) => h.name)));
  report.removed.push(...forgotten);
  // A removed host's secrets go with it.
  for (const h of before) await forgetOverlayKey(ctx.project, h.name);
  const stale = await staleAliasHosts(provider.name, before, ctx);
  await refreshAliases(ctx, provider.name);
  // What the plan listed as going, said as gone.
  report.removed.push(...before.map((h) => `ssh aliases and overlay key of ${h.name}`));
  report.removed.push(...stale.map((name) => `ssh aliases of ${name} (its host was gone already)`));
  return report;
}

/**
 * Hosts the provider's alias file still has blocks for that the state no
 * longer records: a destroy killed after the records went and before it
 * rewrote the aliases. The plan lists them, so the re-run does not say
 * there is nothing to remove, and the destroy takes them back.
 */
async function staleAliasHosts(provider: ProviderName, recorded: readonly HostRecord[], ctx: ProviderContext): Promise<string[]> {
  return (await providerAliasHosts(ctx.project, provider)).filter((name) => !recorded.some((h) => h.name === name));
}
