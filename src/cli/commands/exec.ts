import { PccError } from '../../core/errors.js';
import { connectorFor } from '../../fleet/connect.js';
import { execOnHosts } from '../../fleet/exec.js';
import { selectHosts } from '../../inventory/pattern.js';
import type { CliContext } from '../context.js';

export default async function exec(args: { pattern: string; '--'?: (string | number)[] }, ctx: CliContext): Promise<number> {
  const words = (args['--'] ?? []).map(String);
  if (words.length === 0) throw new PccError('no command given; write: pcc exec PATTERN -- COMMAND...');
  const settings = ctx.settings();
  const hosts = selectHosts(args.pattern, Object.values((await ctx.state().read()).hosts));
  const width = Math.max(...hosts.map((h) => h.name.length));
  const results = await execOnHosts(hosts, words, {
    connect: await connectorFor(ctx.project, settings),
    concurrency: settings.values.PCC_CONCURRENCY,
    onLine: ctx.json ? undefined : (host, line) => ctx.out(`${host.padEnd(width)} | ${line}`),
  });
  for (const r of results) {
    if (r.error) ctx.err(`${r.host.padEnd(width)} | ${r.unreachable ? 'unreachable' : 'failed'}: ${r.error}`);
    else if (r.exitCode !== 0) ctx.err(`${r.host.padEnd(width)} | exit code ${r.exitCode}`);
  }
  if (ctx.json) ctx.emitJson({ command: words.join(' '), hosts: results });
  return results.every((r) => r.exitCode === 0) ? 0 : 2;
}
