import { UserInputError } from '../../core/errors.js';
import { naturalCompare } from '../../core/natural-order.js';
import type { HostKeyLearned } from '../../fleet/host-keys.js';
import { hostGroups } from '../../inventory/pattern.js';
import { hostVarsResolver, isSecretVar, parseVarFlags, redactVars, setVarsInFile } from '../../settings/host-vars.js';
import type { HostRecord } from '../../state/schema.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../table.js';

interface Args {
  action: 'list' | 'add' | 'rm' | 'show' | 'import';
  name?: string;
  target?: string;
  key?: string;
  group: string[];
  var?: string[];
  /** add, import: learn the host keys now (false: `--no-connect`). */
  connect?: boolean;
}

export default async function hosts(args: Args, ctx: CliContext): Promise<number> {
  if (args.action === 'add') {
    if (!args.name || !args.target) throw new UserInputError('usage: pcc hosts add NAME user@address[:port] [--key FILE] [--group G] [--var K=V]');
    const vars = parseVarFlags(args.var);
    // Adding and removing write ssh aliases; the list loads none of that.
    const [{ addStaticHost }, { sshAliasFor }] = await Promise.all([import('../../fleet/static-hosts.js'), import('../../sshconfig/index.js')]);
    const host = await addStaticHost(ctx.core(), { name: args.name, target: args.target, key: args.key, groups: args.group });
    const file = Object.keys(vars).length > 0 ? await setVarsInFile(ctx.project, 'hosts', host.name, vars) : undefined;
    const [key] = await learnKeys(ctx, [host], args.connect);
    if (ctx.json) ctx.emitJson({ ...host, hostKeyLearned: key });
    else {
      ctx.out(`added ${host.name} (${host.user}@${host.address}:${host.port})${file ? `, variables in ${file}` : ''}`);
      (key!.verdict === 'changed' ? ctx.err : ctx.out)(keyLine(key!));
    }
    if (key!.verdict === 'changed') return EXIT.unreachable;
    const alias = await sshAliasFor(ctx.project, host.name);
    // Until pcc has seen the key, OpenSSH (strict checking against pcc's known_hosts) refuses the alias: pcc's own connection learns it.
    const learned = key!.verdict === 'new' || key!.verdict === 'known';
    const first = alias && learned ? ctx.ssh(alias) : ctx.pcc`exec ${host.name} -- uptime`;
    ctx.next([first, ctx.pcc`setup ${host.name}`]);
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
    const keys = await learnKeys(ctx, imported.map((i) => i.host), args.connect);
    if (ctx.json) ctx.emitJson(imported.map((i, n) => ({ ...i.host, inventoryName: i.inventoryName, hostKeyLearned: keys[n] })));
    else {
      for (const [n, { host, inventoryName }] of imported.entries()) {
        ctx.out(`imported ${host.name}${inventoryName === host.name ? '' : ` (${inventoryName})`}: ${host.user}@${host.address}:${host.port} in ${host.groups.join(',')}`);
        (keys[n]!.verdict === 'changed' ? ctx.err : ctx.out)(`  ${keyLine(keys[n]!)}`);
      }
      ctx.out(`${imported.length} host(s); variables in config/groups/ and config/hosts/; see pcc hosts show NAME`);
    }
    return keys.some((k) => k.verdict === 'changed') ? EXIT.unreachable : 0;
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

const LATER = "pcc's first connection to it learns it (pcc exec, pcc setup), and ssh works after that";

/** Trust on first use, at once: see fleet/host-keys.ts. */
async function learnKeys(ctx: CliContext, added: readonly HostRecord[], connect = true): Promise<HostKeyLearned[]> {
  if (!connect) return added.map((h) => ({ host: h.name, verdict: 'skipped' }));
  const { learnHostKeys } = await import('../../fleet/host-keys.js');
  return learnHostKeys(ctx.project, ctx.settings(), added);
}

function keyLine(k: HostKeyLearned): string {
  switch (k.verdict) {
    case 'new':
      return `host key of ${k.host}: ${k.type} ${k.fingerprint}, trusted on first use (recorded in pcc's known_hosts)`;
    case 'known':
      return `host key of ${k.host}: ${k.type} ${k.fingerprint}, already known`;
    case 'changed':
      return `host key of ${k.host}: ${k.type} ${k.fingerprint} is not trusted: ${k.message}`;
    case 'unreachable':
      return `host key of ${k.host}: not learned now (${k.message}); ${LATER}`;
    case 'skipped':
      return `host key of ${k.host}: not asked for (--no-connect); ${LATER}`;
  }
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
