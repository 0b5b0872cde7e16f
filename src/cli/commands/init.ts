import { initController } from '../../fleet/setup.js';
import { runFailed } from '../../playbook/result.js';
import { sshAliasFor } from '../../sshconfig/index.js';
import type { CliContext } from '../context.js';
import { exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';

export default async function initCommand(args: { provider: 'vagrant' | 'local'; dry: boolean }, ctx: CliContext): Promise<number> {
  const outcome = await initController(args.provider, ctx.core({ dry: args.dry }));
  if (ctx.json) ctx.emitJson(outcome);
  else if (!args.dry) {
    ctx.out(renderRecap(outcome.result));
    ctx.out(`controller ready: ${ctx.ssh((await sshAliasFor(ctx.project, outcome.controller.name)) ?? outcome.controller.name)}`);
    if (!runFailed(outcome.result)) ctx.next([ctx.pcc`acquire ${args.provider} --count 1`, ctx.pcc`setup ${args.provider}`, ctx.pcc`build --on ${outcome.controller.name}`]);
  }
  return exitCodeForHosts(outcome.result.hosts);
}
