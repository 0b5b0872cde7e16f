import { Readable } from 'node:stream';
import { UserInputError } from '../../core/errors.js';
import { activity } from '../../core/interrupt.js';
import { connectorFor } from '../../fleet/connect.js';
import { execOnHosts } from '../../fleet/exec.js';
import { selectHosts } from '../../inventory/pattern.js';
import { timeoutsFrom } from '../../remote/timeouts.js';
import type { CliContext } from '../context.js';
import { exitCodeForHosts } from '../exit-codes.js';

interface Args {
  pattern: string;
  stdin?: boolean;
  '--'?: (string | number)[];
}

export default async function exec(args: Args, ctx: CliContext): Promise<number> {
  const words = (args['--'] ?? []).map(String);
  if (words.length === 0) throw new UserInputError('no command given; write: pcc exec PATTERN -- COMMAND...');
  const settings = ctx.settings();
  const hosts = selectHosts(args.pattern, Object.values((await ctx.state().read()).hosts));
  const width = Math.max(...hosts.map((h) => h.name.length));
  const stdin = await stdinFor(hosts.length, Boolean(args.stdin));
  try {
    const results = await activity(`pcc exec on ${hosts.map((h) => h.name).join(', ')}`, async () =>
      execOnHosts(hosts, words, {
        connect: await connectorFor(ctx.project, settings),
        concurrency: settings.values.PCC_CONCURRENCY,
        onLine: ctx.json ? undefined : (host, line) => ctx.out(`${host.padEnd(width)} | ${line}`),
        stdin,
        timeoutMs: timeoutsFrom(settings.values).applyMs,
        roundTripMs: timeoutsFrom(settings.values).roundTripMs,
      }),
    );
    for (const r of results) {
      if (r.error) ctx.err(`${r.host.padEnd(width)} | ${r.unreachable ? 'unreachable' : 'failed'}: ${r.error}`);
      else if (r.exitCode !== 0) ctx.err(`${r.host.padEnd(width)} | exit code ${r.exitCode}`);
    }
    if (ctx.json) ctx.emitJson({ command: words.join(' '), hosts: results });
    return exitCodeForHosts(results.map((r) => ({ failed: !r.unreachable && r.exitCode !== 0, unreachable: r.unreachable })));
  } finally {
    // A pipe that is never closed must not keep pcc alive once the commands are done.
    if (!process.stdin.isTTY) process.stdin.destroy();
  }
}

/**
 * A stdin that is not a terminal goes to the command, as with ssh: streamed to
 * one host; read once and given to every host with --stdin.
 */
async function stdinFor(hostCount: number, toEvery: boolean) {
  if (process.stdin.isTTY) return undefined;
  if (hostCount === 1) return () => process.stdin;
  if (!toEvery) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return () => Readable.from([bytes]);
}
