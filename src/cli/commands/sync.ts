import { UsageError } from '../../core/errors.js';
import { activity } from '../../core/interrupt.js';
import { DEFAULT_REMOTE_DIR, planSync, syncHosts } from '../../fleet/sync.js';
import { selectHosts } from '../../inventory/pattern.js';
import type { CliContext } from '../context.js';
import { exitCodeForHosts } from '../exit-codes.js';

interface Args {
  direction: 'up' | 'down';
  pattern: string;
  first?: string;
  second?: string;
  dry: boolean;
}

/**
 * up PATTERN [LOCAL_DIR] [REMOTE_DIR]; down PATTERN REMOTE_DIR [LOCAL_DIR].
 * LOCAL_DIR defaults to the project folder, REMOTE_DIR (up) to ~/project.
 */
export default async function sync(args: Args, ctx: CliContext): Promise<number> {
  const up = args.direction === 'up';
  if (!up && args.first === undefined) throw new UsageError('pcc sync down needs REMOTE_DIR: pcc sync down PATTERN REMOTE_DIR [LOCAL_DIR]');
  const localDir = up ? args.first : args.second;
  const remoteDir = (up ? args.second : args.first) ?? DEFAULT_REMOTE_DIR;
  const settings = ctx.settings();
  const hosts = selectHosts(args.pattern, Object.values((await ctx.state().read()).hosts));
  const planned = await planSync(ctx.project, {
    direction: args.direction,
    hosts,
    localDir,
    remoteDir,
    dry: args.dry,
    concurrency: settings.values.PCC_CONCURRENCY,
  });
  const progress = ctx.progress();
  const results = await activity(`pcc sync ${args.direction} on ${hosts.map((h) => h.name).join(', ')}`, () => syncHosts(ctx.project, planned, progress));
  const width = Math.max(...results.map((r) => r.host.length));
  for (const r of results) {
    if (r.error) {
      ctx.err(`${r.host.padEnd(width)} | ${r.unreachable ? 'unreachable' : 'failed'}: ${r.error}`);
      continue;
    }
    if (args.dry) for (const c of r.changes) ctx.out(`${r.host.padEnd(width)} | would move ${c}`);
    ctx.out(`${r.host.padEnd(width)} | ${args.dry ? 'would move' : 'moved'} ${r.files} files, ${r.bytes} bytes (${r.localDir} ${up ? '->' : '<-'} ${r.remoteDir})`);
  }
  if (ctx.json) ctx.emitJson({ direction: args.direction, dry: args.dry, hosts: results });
  return exitCodeForHosts(results.map((r) => ({ failed: Boolean(r.error) && !r.unreachable, unreachable: r.unreachable })));
}
