import path from 'node:path';
import { scaffoldProject } from '../../core/scaffold.js';
import { quote } from '../../remote/shell.js';
import type { CliContext } from '../context.js';
import { currentInvocation, hintCommand, programWords } from '../hints.js';

export default async function newCommand(args: { dir: string }, ctx: CliContext): Promise<number> {
  const dir = path.resolve(args.dir);
  const report = await scaffoldProject(dir);
  if (ctx.json) ctx.emitJson(report);
  else {
    for (const f of report.created) ctx.out(`created ${f}`);
    for (const f of report.kept) ctx.out(`kept    ${f} (already there)`);
  }
  // Relative when the folder is below here; otherwise `../../tmp/x` would say less than the path itself.
  const relative = path.relative(process.cwd(), dir);
  const cd = relative.startsWith('..') ? quote(dir) : quote(relative);
  // Both hints run in the new folder (after the cd), so pcc is named as it is reached from there.
  const pcc = hintCommand(programWords({ ...currentInvocation(), cwd: dir }));
  ctx.next([`${relative ? `cd ${cd} && ` : ''}${pcc`up --provider local`}`, pcc`run playbooks/site.ts all`]);
  return 0;
}
