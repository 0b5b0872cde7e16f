import { existsSync } from 'node:fs';
import { acquire } from '../../fleet/lifecycle.js';
import { initController, setupHosts } from '../../fleet/setup.js';
import { HOME_SITE, siteOf } from '../../network/reach.js';
import { runFailed } from '../../playbook/result.js';
import type { CliContext } from '../context.js';
import { renderRecap } from '../recap.js';

/**
 * The all-in-one start: controller, one compute host, setup, and the images
 * built on the controller. Each step is idempotent, so `pcc up` again is cheap.
 */
export default async function upCommand(args: { provider: 'local' | 'vagrant' }, ctx: CliContext): Promise<number> {
  const core = ctx.core();
  const step = (m: string) => core.progress.note(`==> ${m}`);
  step(`controller (${args.provider})`);
  const init = await initController(args.provider, core);
  if (runFailed(init.result)) {
    ctx.out(renderRecap(init.result));
    return 2;
  }
  const state = await core.state.read();
  // Home hosts only: cloud-segment hosts of the local provider are counted by their own `acquire --site cloud`.
  const compute = Object.values(state.hosts).filter((h) => h.provider === args.provider && h.name !== init.controller.name && siteOf(h) === HOME_SITE);
  step(compute.length ? `compute hosts: ${compute.map((h) => h.name).join(', ')}` : 'one compute host');
  const acquired = await acquire(args.provider, { type: 'cpu', count: Math.max(1, compute.length), wait: true }, core);
  const hosts = acquired.hosts.filter((h) => h.name !== init.controller.name && siteOf(h) === HOME_SITE);
  step('setup');
  const setup = await setupHosts(hosts.map((h) => h.name).join(':'), core);
  let built: unknown;
  if (existsSync(ctx.project.dockerDir)) {
    step('images, built on the controller');
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
    ctx.out(renderRecap(setup));
    ctx.out(`ready: ssh ${init.controller.name}, ssh ${hosts.map((h) => `cpu-${h.name}`).join(', ssh ')}`);
  }
  const buildOk = !built || (built as { ok: boolean }).ok;
  return runFailed(setup) || !buildOk ? 2 : 0;
}
