import { PccError, UsageError, UserInputError } from '../core/errors.js';
import { isProjectId, openProject, readProjectId, writeProjectId } from '../core/project.js';
import { loadProvider } from '../providers/index.js';
import { ADOPT_PROVIDERS } from '../providers/registry.js';
import type { FoundProject, MissingLaunchKey, ProviderContext } from '../providers/types.js';
import type { HostRecord } from '../state/schema.js';
import { StateStore } from '../state/store.js';
import { refreshAliases } from './aliases.js';

/** `pcc adopt` without an id: the projects a provider finds by tag, in the regions it looks in. */
export async function discoverProjects(providerName: string, ctx: ProviderContext): Promise<FoundProject[]> {
  const provider = await loadProvider(providerName);
  if (!provider.discover) throw new UsageError(`${providerName} keeps no tags to adopt from; adopt takes ${ADOPT_PROVIDERS.join(', ')}`);
  return provider.discover(ctx);
}

/**
 * `pcc adopt ID`: this folder becomes project ID again (its `.pcc/` was
 * lost), and its hosts and aliases are rebuilt from the tags. Host keys are
 * not in any tag: they are trusted again on first use. Each host keeps the
 * local key it was launched with; launch keys not on this machine are
 * returned (the records are still written) for the caller to say so. An id that nothing
 * carries is refused before anything is written, so a typo never makes this
 * folder a project that exists nowhere.
 */
export async function adoptProject(
  providerName: string,
  id: string,
  ctx: ProviderContext,
): Promise<{ hosts: HostRecord[]; aliases: string[]; missingKeys: MissingLaunchKey[] }> {
  const provider = await loadProvider(providerName);
  if (!provider.adopt || !provider.discover) throw new UsageError(`${providerName} keeps no tags to adopt from; adopt takes ec2`);
  if (!isProjectId(id)) throw new UserInputError(`${id} is not a project id (12 hex digits, as pcc adopt lists them)`);
  const current = readProjectId(ctx.project.stateDir);
  if (current !== undefined && current !== id) {
    const hosts = Object.keys((await ctx.state.read()).hosts);
    if (hosts.length > 0) {
      throw new PccError(`this folder is project ${current} with hosts (${hosts.join(', ')}); adopt ${id} from an empty folder, or pcc destroy first`);
    }
  }
  if (!(await provider.discover(ctx)).some((p) => p.id === id)) {
    throw new UserInputError(`nothing on ${providerName} carries project id ${id}; pcc adopt without an id lists the projects found there`);
  }
  writeProjectId(ctx.project.stateDir, id);
  const project = openProject({ project: ctx.project.root, home: ctx.project.home });
  const adopted: ProviderContext = { ...ctx, project, state: new StateStore(project) };
  const { hosts, missingKeys } = await provider.adopt(adopted);
  const aliases = await refreshAliases(adopted, provider.name);
  return { hosts, aliases, missingKeys };
}
