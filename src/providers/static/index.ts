import { PccError } from '../../core/errors.js';
import type { HostRecord } from '../../state/schema.js';
import type { DestroyReport, HostStatus, Provider, ProviderContext } from '../types.js';

/**
 * Machines the user already has. pcc only records them (`pcc hosts add`);
 * it cannot start, stop or remove the machines themselves.
 */
export const staticProvider: Provider = {
  name: 'static',
  /** pcc starts and stops none of them. */
  async list() {
    return [];
  },
  async spec(): Promise<never> {
    throw new PccError('static hosts are not acquired; add one with: pcc hosts add NAME user@address[:port]');
  },
  async create(): Promise<HostRecord[]> {
    throw new PccError('static hosts are not acquired; add one with: pcc hosts add NAME user@address[:port]');
  },
  async start(): Promise<HostRecord[]> {
    throw new PccError("static hosts are not pcc's to start; pcc resume takes local, vagrant or ec2");
  },
  async stop(): Promise<HostRecord[]> {
    throw new PccError("static hosts are not pcc's to stop; pcc save takes local, vagrant or ec2");
  },
  async terminate(): Promise<string[]> {
    throw new PccError('static hosts are removed with: pcc hosts rm NAME');
  },
  async destroy(ctx: ProviderContext): Promise<DestroyReport> {
    return ctx.state.update((state) => {
      const removed = Object.values(state.hosts).filter((h) => h.provider === 'static');
      for (const h of removed) delete state.hosts[h.name];
      return { removed: removed.map((h) => `static host ${h.name} (record only; the machine is untouched)`) };
    });
  },
  async status(ctx: ProviderContext): Promise<HostStatus[]> {
    const state = await ctx.state.read();
    return Object.values(state.hosts)
      .filter((h) => h.provider === 'static')
      .map((h) => ({ name: h.name, provider: 'static', state: 'unmanaged', address: `${h.address}:${h.port}`, groups: h.groups }));
  },
};
