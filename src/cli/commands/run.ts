import path from 'node:path';
import { runPlaybookOn } from '../../fleet/playbooks.js';
import { loadPlaybook } from '../../playbook/load.js';
import { runFailed } from '../../playbook/result.js';
import { parseVarFlags } from '../../settings/host-vars.js';
import type { CliContext } from '../context.js';
import { exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';

export default async function run(args: { playbook: string; pattern: string; dry: boolean; var?: string[] }, ctx: CliContext): Promise<number> {
  const vars = parseVarFlags(args.var);
  const core = ctx.core({ dry: args.dry });
  // Not awaited here: hosts connect while the playbook loads.
  const playbook = loadPlaybook(args.playbook, { cacheDir: path.join(ctx.project.stateDir, 'cache', 'playbooks') });
  playbook.catch(() => undefined);
  const result = await runPlaybookOn(playbook, { pattern: args.pattern, dry: args.dry, vars }, core);
  if (ctx.json) ctx.emitJson(result);
  else {
    ctx.out(renderRecap(result));
    if (args.dry && !runFailed(result)) ctx.next([ctx.pcc`run ${args.playbook} ${args.pattern}`]);
  }
  return exitCodeForHosts(result.hosts);
}
