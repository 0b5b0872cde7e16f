import { resume } from '../../fleet/resume.js';
import { runFailed } from '../../playbook/result.js';
import type { CliContext } from '../context.js';
import { renderRecap } from '../recap.js';

export default async function resumeCommand(args: { provider: string }, ctx: CliContext): Promise<number> {
  const outcome = await resume(args.provider, ctx.core());
  if (ctx.json) ctx.emitJson(outcome);
  else {
    ctx.out(`resumed: ${outcome.hosts.map((h) => h.name).join(', ')}`);
    if (outcome.setup) ctx.out(renderRecap(outcome.setup));
  }
  return outcome.unreachable.length || (outcome.setup && runFailed(outcome.setup)) ? 2 : 0;
}
