import { PccError } from '../core/errors.js';
import { selectHosts } from '../inventory/pattern.js';
import { loadProvider } from '../providers/index.js';
import type { ProviderContext, ProviderName } from '../providers/types.js';
import { runPlaybook } from '../playbook/run.js';
import { combineRuns, type RunResult } from '../playbook/result.js';
import type { HostRecord } from '../state/schema.js';
import { refreshAliases } from './aliases.js';
import { CONTROLLER } from './cluster.js';
import { clusterPlan } from './cluster-plan.js';
import { waitForSsh } from './lifecycle.js';
import { enrollOverlay } from './overlay-members.js';
import { runOptions } from './playbooks.js';
import { labelsFromSetup, readJoinToken } from './swarm.js';

export interface InitOutcome {
  controller: HostRecord;
  result: RunResult;
}

/** `pcc init`: the provider brings up the controller machine, then the controller playbook makes it one. */
export async function initController(providerName: 'local' | 'vagrant', ctx: ProviderContext): Promise<InitOutcome> {
  const provider = await loadProvider(providerName);
  if (!provider.initController) throw new PccError(`the ${providerName} provider cannot host the controller; use --provider local or vagrant`);
  const controller = await provider.initController(ctx);
  if (ctx.dry) {
    return { controller, result: { playbook: 'controller', dry: true, hosts: [] } };
  }
  await refreshAliases(ctx, provider.name);
  const unreachable = await waitForSsh([controller], ctx);
  if (unreachable.length) throw new PccError(`controller ${controller.name} does not answer on ssh: ${unreachable[0]!.error}`);
  await enrollOverlay(ctx, []);
  const state = await ctx.state.read();
  const plan = await clusterPlan(ctx.project, ctx.settings, state);
  const { default: controllerPlaybook } = await import('../../playbooks/controller.js');
  const result = await runPlaybook(controllerPlaybook, [state.hosts[CONTROLLER]!], await runOptions(ctx, { dry: false, input: plan, concurrency: 1 }));
  return { controller: state.hosts[CONTROLLER]!, result };
}

/**
 * `pcc setup <pattern>`: enrolls the matched hosts on the overlay, then runs
 * the setup playbook on them and on the controller (which learns its peers)
 * in one parallel run; every other enrolled host that runs gets its overlay
 * config refreshed in the same run, so the mesh stays whole. Then the swarm
 * manager labels the nodes. Groups cpu/gpu follow what the GPU fact found.
 */
export async function setupHosts(pattern: string, ctx: ProviderContext): Promise<RunResult> {
  let state = await ctx.state.read();
  const targets = selectHosts(pattern, Object.values(state.hosts));
  if (!state.hosts[CONTROLLER]) throw new PccError('no controller yet; run pcc init first (or pcc up for everything at once)');
  await enrollOverlay(ctx, targets.map((h) => h.name));
  state = await ctx.state.read();
  const controller = state.hosts[CONTROLLER]!;
  const joinToken = await swarmToken(controller, ctx);
  const chosen = new Set(targets.map((h) => h.name));
  const overlayOnly = Object.values(state.hosts).filter(
    (h) => h.name !== CONTROLLER && !chosen.has(h.name) && h.overlayAddress && h.overlayPublicKey && (h.status ?? 'running') === 'running',
  );
  const plan = await clusterPlan(ctx.project, ctx.settings, state, { joinToken, overlayOnly: overlayOnly.map((h) => h.name) });
  const hosts = [controller, ...targets.filter((h) => h.name !== CONTROLLER).map((h) => state.hosts[h.name]!), ...overlayOnly];
  const { default: setupPlaybook } = await import('../../playbooks/setup.js');
  const options = await runOptions(ctx, { dry: ctx.dry, input: plan });
  let result = await runPlaybook(setupPlaybook, hosts, options);
  if (ctx.dry) return result;
  result = await afterReboots(result, hosts, ctx, (again) => runPlaybook(setupPlaybook, again, options));
  warnUnmountedProjects(result, hosts, ctx);
  await recordGpuGroups(ctx, result);
  const labels = labelsFromSetup(await ctx.state.read(), result);
  const { default: labelsPlaybook } = await import('../../playbooks/swarm-labels.js');
  const labelled = await runPlaybook(labelsPlaybook, [controller], await runOptions(ctx, { dry: false, input: { labels }, concurrency: 1 }));
  return combineRuns(result, labelled);
}

/**
 * The worker join token. A controller made before pcc formed swarms has
 * none yet: its own playbook makes it the manager first.
 */
async function swarmToken(controller: HostRecord, ctx: ProviderContext): Promise<string | undefined> {
  const token = await readJoinToken(controller, ctx).catch(() => undefined);
  if (token || ctx.dry) return token;
  const state = await ctx.state.read();
  const plan = await clusterPlan(ctx.project, ctx.settings, state);
  const { default: controllerPlaybook } = await import('../../playbooks/controller.js');
  const made = await runPlaybook(controllerPlaybook, [controller], await runOptions(ctx, { dry: false, input: plan, concurrency: 1 }));
  if (made.hosts[0]?.status === 'failed' || made.hosts[0]?.status === 'unreachable') {
    throw new PccError(`the controller could not become the swarm manager: ${made.hosts[0].error ?? made.hosts[0].ops.find((o) => o.status === 'failed')?.error ?? 'see pcc init'}`);
  }
  return readJoinToken(controller, ctx);
}

/** Time for a host whose reboot is due 5 s after its run to go down, before ssh is tried. */
const REBOOT_GRACE_MS = 20_000;

/**
 * A Flatcar GPU host whose driver sysext had to be fetched again reboots at
 * the end of its run (outputs.rebooting): setup waits for it and runs once
 * more, so no one reboots by hand. A host that asks again has failed.
 */
async function afterReboots(
  result: RunResult,
  hosts: HostRecord[],
  ctx: ProviderContext,
  rerun: (hosts: HostRecord[]) => Promise<RunResult>,
): Promise<RunResult> {
  const names = new Set(result.hosts.filter((h) => h.outputs.rebooting === true).map((h) => h.host));
  if (names.size === 0) return result;
  const again = hosts.filter((h) => names.has(h.name));
  for (const h of again) ctx.progress.host(h.name, 'rebooting to load the NVIDIA driver sysext');
  await new Promise((r) => setTimeout(r, REBOOT_GRACE_MS));
  await waitForSsh(again, ctx);
  const second = await rerun(again);
  for (const h of second.hosts) {
    if (h.outputs.rebooting === true) {
      h.status = 'failed';
      h.error = 'the NVIDIA driver sysext is still missing after a reboot; check that the host reaches the Flatcar release server (journalctl -b | grep -i sysext)';
    }
  }
  return { ...result, hosts: result.hosts.map((h) => second.hosts.find((s) => s.host === h.host) ?? h) };
}

/**
 * A host where tasks would write into a `/project` of its own: said once per
 * run as a warning, which a live view prints after it ends (a note would
 * vanish with it), so an empty `results/` is no surprise. Two causes: a host
 * whose kernel has no NFS client keeps the mount unit unstarted, and a local
 * host booted by an older pcc has no bind yet.
 */
function warnUnmountedProjects(result: RunResult, hosts: HostRecord[], ctx: ProviderContext): void {
  const unmounted = new Set(result.hosts.filter((h) => (h.status === 'ok' || h.status === 'changed') && h.outputs.projectMounted === false).map((h) => h.host));
  const bound = hosts.filter((h) => unmounted.has(h.name) && h.projectBound).map((h) => h.name);
  const nfs = hosts.filter((h) => unmounted.has(h.name) && !h.projectBound).map((h) => h.name);
  if (bound.length > 0) {
    ctx.progress.warn(
      `${bound.join(', ')}: /project is not the project folder there yet: the host was booted without it; pcc save local and pcc resume local boot it again with it`,
    );
  }
  if (nfs.length > 0) {
    ctx.progress.warn(
      `${nfs.join(', ')}: /project is not mounted there: no kernel NFS client (no nfs4 in /proc/filesystems); project.mount is in place, and a later pcc setup starts it once the kernel has one; until then, pcc sync up ${nfs.length === 1 ? nfs[0] : 'PATTERN'} . /project copies the project there`,
    );
  }
}

/** A host is in `gpu` or `cpu` by what setup found, not by what was asked for. */
async function recordGpuGroups(ctx: ProviderContext, result: RunResult): Promise<void> {
  const touched = new Set<ProviderName>();
  await ctx.state.update((state) => {
    for (const h of result.hosts) {
      const record = state.hosts[h.host];
      if (!record || typeof h.outputs.gpu !== 'boolean') continue;
      const kind = h.outputs.gpu ? 'gpu' : 'cpu';
      const groups = [...record.groups.filter((g) => g !== 'gpu' && g !== 'cpu'), kind];
      if (groups.join() !== record.groups.join()) {
        record.groups = groups;
        touched.add(record.provider);
      }
    }
  });
  for (const p of touched) await refreshAliases(ctx, p);
}
