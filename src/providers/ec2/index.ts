import type { HostRecord } from '../../state/schema.js';
import type { DestroyReport, HostStatus, Provider, ProviderContext } from '../types.js';
import { acquire } from './acquire.js';
import { createClients, withAwsErrors, type AwsClients } from './clients.js';
import { sweepRegion } from './destroy.js';
import { DEFAULT_WAIT_DELAY, type Ec2Hooks } from './hooks.js';
import { knownRegions } from './record.js';
import { checkRegion, dropUnknownRegions, regionSource } from './regions.js';
import { save } from './save.js';
import { regionStatus } from './status.js';

export type { Ec2Hooks } from './hooks.js';

/**
 * Amazon EC2: Flatcar (or Deep Learning AMI) hosts, every resource tagged
 * `pcc:project`, nothing launched twice. This module and the AWS SDK load
 * only when the ec2 provider is asked for.
 */
export function createEc2Provider(hooks: Ec2Hooks = {}): Provider {
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

  return {
    name: 'ec2',

    async acquire(request, ctx) {
      const region = request.region ?? ctx.settings.values.EC2_REGION;
      // Before anything is recorded: a region that does not exist would fail every later destroy.
      checkRegion(region, regionSource(ctx, request.region));
      await dropUnknownRegions(ctx);
      return inRegion(ctx, region, (aws) => acquire(aws, request, ctx, hooks));
    },

    save: (request, ctx): Promise<HostRecord[]> => everyRegion(ctx, (aws) => save(aws, request, ctx, delay)),

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
  };
}

export const ec2Provider: Provider = createEc2Provider();
