import type { ProviderContext, ProviderName } from '../providers/types.js';
import { removeProviderAliases, writeProviderAliases } from '../sshconfig/index.js';

/**
 * Rewrites one provider's ssh aliases from the state, so that `ssh <alias>`
 * always matches what pcc knows. A provider with no hosts left has no file.
 */
export async function refreshAliases(ctx: ProviderContext, provider: ProviderName): Promise<string[]> {
  const state = await ctx.state.read();
  const hosts = Object.values(state.hosts).filter((h) => h.provider === provider);
  if (hosts.length === 0) {
    await removeProviderAliases(ctx.project, provider);
    return [];
  }
  const written = await writeProviderAliases(ctx.project, provider, hosts, { defaultKey: ctx.settings.values.PCC_SSH_KEY });
  for (const clash of written.clashes) {
    ctx.progress.warn(`ssh alias ${clash} is already defined in your ssh config; yours wins, pcc's is left out`);
  }
  for (const warning of written.warnings) ctx.progress.warn(warning);
  return written.aliases;
}
