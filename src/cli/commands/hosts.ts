import { UserInputError } from '../../core/errors.js';
import { naturalCompare } from '../../core/natural-order.js';
import { hostGroups } from '../../inventory/pattern.js';
import { hostVarsResolver, isSecretVar, parseVarFlags, redactVars, setVarsInFile } from '../../settings/host-vars.js';
import type { HostRecord } from '../../state/schema.js';
import type { CliContext } from '../context.js';
import { table } from '../table.js';

interface Args {
  action: 'list' | 'add' | 'rm' | 'show' | 'import';
  name?: string;
  target?: string;
  key?: string;
  group: string[];
  var?: string[];
}

export default async function hosts(args: Args, ctx: CliContext): Promise<number> {
  if (args.action === 'add') {
    if (!args.name || !args.target) throw new UserInputError('usage: pcc hosts add NAME user@address[:port] [--key FILE] [--group G] [--var K=V]');
    const vars = parseVarFlags(args.var);
    // Adding and removing write ssh aliases; the list loads none of that.
    const [{ addStaticHost }, { sshAliasFor }] = await Promise.all([import('../../fleet/static-hosts.js'), import('../../sshconfig/index.js')]);
    const host = await addStaticHost(ctx.core(), { name: args.name, target: args.target, key: args.key, groups: args.group });
    const file = Object.keys(vars).length > 0 ? await setVarsInFile(ctx.project, 'hosts', host.name, vars) : undefined;
    if (ctx.json) ctx.emitJson(host);
    else ctx.out(`added ${host.name} (${host.user}@${host.address}:${host.port})${file ? `, variables in ${file}` : ''}`);
    const alias = await sshAliasFor(ctx.project, host.name);
    ctx.next([alias ? `ssh ${alias}` : `pcc exec ${host.name} -- uptime`, `pcc setup ${host.name}`]);
    return 0;
  }
  if (args.action === 'rm') {
    if (!args.name) throw new UserInputError('usage: pcc hosts rm NAME');
    const { removeStaticHost } = await import('../../fleet/static-hosts.js');
    await removeStaticHost(ctx.core(), args.name);
    if (ctx.json) ctx.emitJson({ removed: args.name });
    else ctx.out(`removed ${args.name}`);
    return 0;
  }
  if (args.action === 'import') {
    if (!args.name) throw new UserInputError('usage: pcc hosts import INVENTORY (an Ansible inventory.ini or inventory.yml)');
    const { importInventory } = await import('../../fleet/import-inventory.js');
    const imported = await importInventory(ctx.core(), args.name);
    if (ctx.json) ctx.emitJson(imported.map((i) => ({ ...i.host, inventoryName: i.inventoryName })));
    else {
      for (const { host, inventoryName } of imported) {
        ctx.out(`imported ${host.name}${inventoryName === host.name ? '' : ` (${inventoryName})`}: ${host.user}@${host.address}:${host.port} in ${host.groups.join(',')}`);
      }
      ctx.out(`${imported.length} host(s); variables in config/groups/ and config/hosts/; see pcc hosts show NAME`);
    }
    return 0;
  }

  const all = Object.values((await ctx.state().read()).hosts).sort((a, b) => naturalCompare(a.name, b.name));
  // Only show and --json print variables: the table needs no settings.
  let resolver: ReturnType<typeof hostVarsResolver> | undefined;
  const varsOf = (h: HostRecord) => (resolver ??= hostVarsResolver(ctx.project, ctx.settings()))(h);
  if (args.action === 'show') {
    if (!args.name) throw new UserInputError('usage: pcc hosts show NAME');
    const host = all.find((h) => h.name === args.name);
    if (!host) throw new UserInputError(`no host named '${args.name}'; see pcc hosts`);
    const hv = varsOf(host);
    if (ctx.json) {
      ctx.emitJson({ ...host, vars: redactVars(hv), varOrigins: hv.origin });
      return 0;
    }
    for (const [k, v] of describe(host)) ctx.out(`${k.padEnd(9)} ${v}`);
    const keys = Object.keys(hv.vars).sort();
    ctx.out(keys.length ? 'vars:' : 'vars:     none (config/vars.env, config/groups/<group>.env, config/hosts/<name>.env)');
    if (keys.length) {
      ctx.out(table(['name', 'value', 'from'], keys.map((k) => [k, isSecretVar(k, hv.origin[k]) ? '(hidden)' : hv.vars[k], hv.origin[k]])));
    }
    return 0;
  }
  if (ctx.json) {
    ctx.emitJson(all.map((h) => ({ ...h, vars: redactVars(varsOf(h)) })));
    return 0;
  }
  if (all.length === 0) {
    ctx.out('no hosts yet; add some with pcc acquire local|vagrant|ec2, pcc hosts add NAME user@address, or pcc hosts import inventory.ini');
    return 0;
  }
  ctx.out(
    table(
      ['name', 'provider', 'address', 'user', 'groups', 'created'],
      all.map((h) => [h.name, h.provider, `${h.address}:${h.port}`, h.user, hostGroups(h).join(','), h.createdAt.slice(0, 19).replace('T', ' ')]),
    ),
  );
  return 0;
}

function describe(h: HostRecord): [string, string][] {
  const rows: [string, string][] = [
    ['name', h.name],
    ['provider', h.provider],
    ['address', `${h.user}@${h.address}:${h.port}`],
    ['groups', hostGroups(h).join(',')],
  ];
  if (h.key) rows.push(['key', h.key]);
  if (h.status) rows.push(['status', h.status]);
  if (h.overlayAddress) rows.push(['overlay', h.overlayAddress]);
  rows.push(['created', h.createdAt]);
  return rows;
}
