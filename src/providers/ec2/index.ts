import type { HostRecord } from '../../state/schema.js';
import type { DestroyReport, FoundProject, HostStatus, Provider, ProviderContext } from '../types.js';
import { adoptRegion, findProjects } from './adopt.js';
import { createInstances, ec2Spec, refreshAccess, startInstances, type Ec2Spec } from './acquire.js';
import { createClients, withAwsErrors, type AwsClients } from './clients.js';
import { sweepRegion, terminateInstances } from './destroy.js';
import { listRegion } from './list.js';
import { DEFAULT_WAIT_DELAY, type Ec2Hooks } from './hooks.js';
import { knownRegions } from './record.js';
import { checkRegion, dropUnknownRegions, regionSource } from './regions.js';
import { save, setShutdownBehavior } from './save.js';
import { regionStatus, regionStorage, specPrice } from './status.js';
import { STORAGE_USD_PER_GB_MONTH } from './prices.js';
import { sshWaitSeconds } from './boot-wait.js';
import { attachEbsVolume, createEbsVolume, deleteEbsVolume } from './volumes.js';
import { ebsDeviceMatch } from './volume-device.js';

export type { Ec2Hooks } from './hooks.js';

/**
 * Amazon EC2: Flatcar (or Deep Learning AMI) hosts, every resource tagged
 * `pcc:project`, nothing launched twice. This module and the AWS SDK load
 * only when the ec2 provider is asked for.
 */
export function createEc2Provider(hooks: Ec2Hooks = {}): Provider<Ec2Spec> {
  const delay = hooks.waitDelay ?? DEFAULT_WAIT_DELAY;

  /** Runs `fn` with clients for one region, turning AWS failures into one-line errors. */
  const inRegion = <T>(ctx: ProviderContext, region: string, fn: (aws: AwsClients) => Promise<T>): Promise<T> =>
    withAwsErrors(ctx.settings, async () => {
      const aws = createClients(ctx.settings, region, hooks.onClient);
      try {
        return await fn(aws);
      } finally {
        aws.destroy();
      }
    });

  /** save, destroy and status look in every region the project has used; regions are few, so one at a time. */
  const everyRegion = async <T>(ctx: ProviderContext, fn: (aws: AwsClients) => Promise<T[]>): Promise<T[]> => {
    const out: T[] = [];
    await dropUnknownRegions(ctx);
    checkRegion(ctx.settings.values.EC2_REGION, regionSource(ctx, undefined));
    for (const region of await knownRegions(ctx)) out.push(...(await inRegion(ctx, region, fn)));
    return out;
  };

  /** The instances behind host names, by region (a host unknown to the state is named by its instance id). */
  const byRegion = async (ctx: ProviderContext, hosts: readonly string[]): Promise<Map<string, string[]>> => {
    const state = await ctx.state.read();
    const out = new Map<string, string[]>();
    for (const name of hosts) {
      const h = state.hosts[name];
      const id = h?.provider === 'ec2' ? h.providerId : /^i-[0-9a-f]+$/.test(name) ? name : undefined;
      if (!id) continue;
      const region = h?.region ?? ctx.settings.values.EC2_REGION;
      out.set(region, [...(out.get(region) ?? []), id]);
    }
    return out;
  };

  const provider: Provider<Ec2Spec> = {
    name: 'ec2',

    list: (ctx) => everyRegion(ctx, (aws) => listRegion(aws, ctx)),

    spec: (request, ctx) => {
      const region = request.region ?? ctx.settings.values.EC2_REGION;
      // Before anything is recorded: a region that does not exist would fail every later destroy.
      checkRegion(region, regionSource(ctx, request.region));
      return inRegion(ctx, region, (aws) => ec2Spec(aws, request, ctx));
    },

    refreshAccess: (spec, ctx) => inRegion(ctx, spec.detail.region, (aws) => refreshAccess(aws, ctx, hooks)),

    create: (spec, count, ctx) => inRegion(ctx, spec.detail.region, (aws) => createInstances(aws, spec, count, ctx, hooks)),

    async start(hosts, ctx) {
      const out: HostRecord[] = [];
      for (const [region, ids] of await byRegion(ctx, hosts)) out.push(...(await inRegion(ctx, region, (aws) => startInstances(aws, ids, ctx, hooks))));
      return out;
    },

    async stop(hosts, request, ctx) {
      const out: HostRecord[] = [];
      for (const [region, ids] of await byRegion(ctx, hosts)) out.push(...(await inRegion(ctx, region, (aws) => save(aws, ids, request, ctx, delay))));
      return out;
    },

    async terminate(hosts, ctx) {
      const out: string[] = [];
      for (const [region, ids] of await byRegion(ctx, hosts)) out.push(...(await inRegion(ctx, region, (aws) => terminateInstances(aws, ids, ctx, delay))));
      return out;
    },

    async setShutdownBehavior(hosts, behavior, ctx) {
      for (const [region, ids] of await byRegion(ctx, hosts)) {
        if (ctx.dry) {
          ctx.progress.note(`would set ${ids.length} instance(s) in ${region} to ${behavior} on shutdown`);
          continue;
        }
        await inRegion(ctx, region, (aws) => setShutdownBehavior(aws, ids, behavior));
      }
    },

    async destroy(ctx): Promise<DestroyReport> {
      const removed = await everyRegion(ctx, (aws) => sweepRegion(aws, ctx, delay));
      if (!ctx.dry) {
        await ctx.state.update((state) => {
          for (const [name, host] of Object.entries(state.hosts)) if (host.provider === 'ec2') delete state.hosts[name];
          delete state.providers.ec2;
        });
      }
      return { removed };
    },

    status: (ctx): Promise<HostStatus[]> => everyRegion(ctx, (aws) => regionStatus(aws, ctx)),

    storageCosts: (ctx) => everyRegion(ctx, (aws) => regionStorage(aws, ctx)),

    priceOf: (spec, ctx) => inRegion(ctx, spec.detail.region, (aws) => specPrice(aws, ctx, spec.detail.instanceType, spec.detail.spot)),

    // The host's record says its type and whether it is spot (meta.spot, this provider's own note).
    priceOfHost: async (host, ctx) =>
      host.instanceType === undefined
        ? undefined
        : inRegion(ctx, host.region ?? ctx.settings.values.EC2_REGION, async (aws) => (await specPrice(aws, ctx, host.instanceType!, host.meta.spot === 'true')).usdPerHour),

    bootWait: (host, ctx) => ({
      seconds: sshWaitSeconds(host, ctx.settings.values.EC2_SSH_WAIT_S),
      fix: `raise EC2_SSH_WAIT_S (${ctx.settings.origin.EC2_SSH_WAIT_S ?? 'config/ec2.env'}) if the instance needs longer, or look at its console output in the EC2 console`,
    }),

    async discover(ctx) {
      const found = new Map<string, FoundProject>();
      for (const p of await everyRegion(ctx, (aws) => findProjects(aws))) {
        const seen = found.get(p.id);
        if (!seen) found.set(p.id, p);
        else found.set(p.id, { ...seen, regions: [...seen.regions, ...p.regions], hosts: seen.hosts + p.hosts, usdPerHour: seen.usdPerHour + p.usdPerHour, unpriced: [...new Set([...seen.unpriced, ...p.unpriced])].sort() });
      }
      return [...found.values()];
    },

    async adopt(ctx) {
      const regions = await everyRegion(ctx, async (aws) => [await adoptRegion(aws, ctx)]);
      return { hosts: regions.flatMap((r) => r.hosts), missingKeys: regions.flatMap((r) => r.missingKeys) };
    },

    createVolume: (v, ctx) => {
      checkRegion(ctx.settings.values.EC2_REGION, regionSource(ctx, undefined));
      return inRegion(ctx, ctx.settings.values.EC2_REGION, (aws) => createEbsVolume(aws, v, ctx, delay));
    },
    deleteVolume: (v, ctx) => inRegion(ctx, v.region ?? ctx.settings.values.EC2_REGION, (aws) => deleteEbsVolume(aws, v)),
    attachVolume: (v, host, ctx) => inRegion(ctx, v.region ?? ctx.settings.values.EC2_REGION, (aws) => attachEbsVolume(aws, v, host, delay)),
    volumeDevice: ebsDeviceMatch,
    volumeUsdPerMonth: (sizeGiB) => sizeGiB * STORAGE_USD_PER_GB_MONTH.gp3!,
  };
  return provider;
}

export const ec2Provider: Provider<Ec2Spec> = createEc2Provider();
