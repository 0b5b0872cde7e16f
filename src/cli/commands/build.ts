import { buildImages, type BuildReport } from '../../images/build.js';
import type { BuilderName } from '../../images/builders.js';
import type { CliContext } from '../context.js';
import { table } from '../table.js';

interface BuildArgs {
  builder?: BuilderName;
  on?: string;
  force?: boolean;
}

export default async function buildCommand(args: BuildArgs, ctx: CliContext): Promise<number> {
  const options = {
    project: ctx.project,
    settings: ctx.settings(),
    store: ctx.state(),
    progress: ctx.progress(),
    builder: args.builder,
    force: Boolean(args.force),
  };
  let report: BuildReport;
  if (args.on) {
    const { buildOn } = await import('../../images/remote.js');
    report = await buildOn(args.on, options);
  } else {
    report = await buildImages(options);
  }

  if (ctx.json) ctx.emitJson(report);
  else printBuildReport(report, ctx);
  return report.ok ? 0 : 1;
}

/** The build's table and its failures; `pcc up` prints it too. */
export function printBuildReport(report: BuildReport, ctx: CliContext): void {
  for (const note of report.notes) ctx.out(`note: ${note}`);
  if (report.images.length === 0) return;
  ctx.out(
    table(
      ['image', 'result', 'time', 'digest'],
      report.images.map((r) => [
        r.image,
        r.result === 'built' && r.reason ? `built (${r.reason})` : r.result,
        r.result === 'built' || r.result === 'failed' ? `${r.seconds.toFixed(1)}s` : undefined,
        r.digest,
      ]),
    ),
  );
  for (const r of report.images) {
    if (r.result === 'failed') {
      ctx.out('');
      ctx.out(`${r.image} (${r.folder}): ${r.reason}`);
      for (const line of r.output ?? []) ctx.out(`  ${line}`);
    } else if (r.result === 'blocked') {
      ctx.out(`${r.image}: ${r.reason}`);
    }
  }
  const where = report.on ? ` on ${report.on}` : '';
  const counts = (['built', 'skipped', 'failed', 'blocked'] as const)
    .map((k) => `${report.images.filter((r) => r.result === k).length} ${k}`)
    .join(', ');
  ctx.out(`${report.registry} via ${report.builder}${where}: ${counts}`);
}
