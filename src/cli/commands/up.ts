import { existsSync } from 'node:fs';
import { acquire } from '../../fleet/lifecycle.js';
import { initController, setupHosts } from '../../fleet/setup.js';
import type { BuildReport } from '../../images/build.js';
import { HOME_SITE, siteOf } from '../../network/reach.js';
import { runFailed } from '../../playbook/result.js';
import { sshAliasFor } from '../../sshconfig/index.js';
import type { CliContext } from '../context.js';
import { EXIT, exitCodeForHosts } from '../exit-codes.js';
import { renderRecap } from '../recap.js';
import { table } from '../table.js';
import { printBuildReport } from './build.js';

/**
 * The all-in-one start: controller, one compute host, setup, and the images
 * built on the controller. Each step is idempotent, so `pcc up` again is cheap.
 * The recap covers every phase, in the order they ran.
 */
export default async function upCommand(args: { provider: 'local' | 'vagrant' }, ctx: CliContext): Promise<number> {
  const core = ctx.core();
  const phase = (title: string) => core.progress.phase?.(title);
  const section = (title: string) => ctx.out(`\n== ${title}`);

  phase(`controller (${args.provider})`);
  const init = await initController(args.provider, core);
  if (runFailed(init.result)) {
    section('controller');
    ctx.out(renderRecap(init.result));
    ctx.next([ctx.pcc`init --provider ${args.provider}`, ctx.pcc`up --provider ${args.provider}`]);
    return exitCodeForHosts(init.result.hosts);
  }
  const state = await core.state.read();
  // Home hosts only: cloud-segment hosts of the local provider are counted by their own `acquire --site cloud`.
  const compute = Object.values(state.hosts).filter((h) => h.provider === args.provider && h.name !== init.controller.name && siteOf(h) === HOME_SITE);
  phase(`compute hosts (${args.provider})`);
  const acquired = await acquire(args.provider, { type: 'cpu', count: Math.max(1, compute.length), wait: true }, core);
  const hosts = acquired.hosts.filter((h) => h.name !== init.controller.name && siteOf(h) === HOME_SITE);
  phase('setup');
  const setup = await setupHosts(hosts.map((h) => h.name).join(':'), core);
  let built: BuildReport | undefined;
  if (existsSync(ctx.project.dockerDir)) {
    phase(`images (built on ${init.controller.name})`);
    const { buildOn } = await import('../../images/remote.js');
    built = await buildOn(init.controller.name, {
      project: ctx.project,
      settings: core.settings,
      store: core.state,
      progress: core.progress,
      force: false,
    });
  }
  if (ctx.json) ctx.emitJson({ controller: init.controller, hosts, setup, build: built });
  else {
    section(`controller: ${init.controller.name}`);
    ctx.out(renderRecap(init.result));
    section(`compute hosts: ${hosts.map((h) => h.name).join(', ')}`);
    ctx.out(table(['name', 'address', 'groups', 'status'], hosts.map((h) => [h.name, `${h.address}:${h.port}`, h.groups.join(','), h.status])));
    for (const u of acquired.unreachable) ctx.out(`${u.host}: not reachable over ssh yet: ${u.error}`);
    section('setup');
    ctx.out(renderRecap(setup));
    if (built) {
      section('images');
      printBuildReport(built, ctx);
    }
    ctx.out('');
    const aliases = await Promise.all([
      sshAliasFor(ctx.project, init.controller.name),
      ...hosts.map((h) => sshAliasFor(ctx.project, h.name, `cpu-${h.name}`)),
    ]);
    ctx.out(`ready: ${aliases.flatMap((a) => (a ? [ctx.ssh(a)] : [])).join(', ')}`);
  }
  ctx.next([
    ctx.pcc`exec all -- uptime`,
    ctx.pcc`run PLAYBOOK.ts all`,
    `${ctx.pcc`save ${args.provider}`}     # stop for now, ${ctx.pcc`resume ${args.provider}`} later`,
    `${ctx.pcc`destroy ${args.provider}`}  # remove everything`,
  ]);
  const hostsCode = exitCodeForHosts([...setup.hosts, ...acquired.unreachable.map(() => ({ unreachable: true }))]);
  return hostsCode !== EXIT.ok ? hostsCode : built && !built.ok ? EXIT.error : EXIT.ok;
}
