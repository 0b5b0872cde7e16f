import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../../core/errors.js';
import { readIfExists, writeOwnedFile } from '../../core/files.js';
import { addressKnownHosts, ansibleInventory, pyinfraInventory, type ExportSources } from '../../inventory/export.js';
import { quote } from '../../remote/shell.js';
import { hostVarsResolver, withoutSecrets } from '../../settings/host-vars.js';
import { knownHostsFile } from '../../sshconfig/index.js';
import { keyPath } from '../../sshconfig/entries.js';
import { keysOf } from '../../sshconfig/known-hosts.js';
import type { CliContext } from '../context.js';

interface Args {
  ansible: boolean;
  list: boolean;
  host?: string;
  pyinfra?: string;
}

/**
 * `--ansible` (or an inventory script's `--list`) prints the JSON; `--host X`
 * prints `{}`, since `_meta` already holds every host's variables.
 * `--pyinfra FILE` writes the module and the known_hosts it points at.
 */
export default async function inventory(args: Args, ctx: CliContext): Promise<number> {
  if (args.host !== undefined) {
    process.stdout.write('{}\n');
    return 0;
  }
  if (!args.ansible && !args.list && args.pyinfra === undefined) {
    throw new UserInputError('say which inventory: pcc inventory --ansible, or pcc inventory --pyinfra FILE.py');
  }
  const hosts = Object.values((await ctx.state().read()).hosts);
  const settings = ctx.settings();
  const resolve = hostVarsResolver(ctx.project, settings);
  const exported = new Map(hosts.map((h) => [h.name, withoutSecrets(resolve(h))]));
  const sources: ExportSources = {
    keyOf: (h) => keyPath(h, { home: ctx.project.home, root: ctx.project.root, knownHosts: '', defaultKey: settings.values.PCC_SSH_KEY }),
    knownHosts: knownHostsFile(ctx.project),
    varsOf: (h) => exported.get(h.name)!.shown,
  };
  const secrets = [...new Set([...exported.values()].flatMap((e) => e.hidden))].sort();
  const noteSecrets = () => {
    if (secrets.length > 0) ctx.err(`pcc: left out of the inventory, as secrets: ${secrets.join(', ')} (see pcc hosts show NAME)`);
  };
  if (args.pyinfra === undefined) {
    process.stdout.write(`${JSON.stringify(ansibleInventory(hosts, sources), null, 2)}\n`);
    noteSecrets();
    return 0;
  }
  const file = path.resolve(args.pyinfra);
  if (!file.endsWith('.py')) throw new UserInputError(`--pyinfra ${args.pyinfra}: pyinfra imports inventories as Python modules; name the file *.py`);
  // pcc makes folders only in the project, .pcc/ and ~/.ssh/config.d/pcc/: a missing one here is most likely a typo.
  const folder = path.dirname(file);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new UserInputError(`--pyinfra ${args.pyinfra}: there is no folder ${folder}; make it first, or write the inventory into one that exists`);
  }
  const knownHostsByAddress = `${file.slice(0, -3)}.known_hosts`;
  const known = (await readIfExists(sources.knownHosts)) ?? '';
  await writeOwnedFile(knownHostsByAddress, addressKnownHosts(hosts, (name) => keysOf(known, name).trusted), { mode: 0o600 });
  await writeOwnedFile(file, pyinfraInventory(hosts, { ...sources, knownHostsByAddress }), { mode: 0o600 });
  noteSecrets();
  if (ctx.json) ctx.emitJson({ inventory: file, knownHosts: knownHostsByAddress, hosts: hosts.length });
  else ctx.out(`wrote ${path.relative(process.cwd(), file)} (${hosts.length} hosts) and ${path.relative(process.cwd(), knownHostsByAddress)}`);
  ctx.next([`pyinfra ${quote(path.relative(process.cwd(), file))} exec -- uptime`]);
  return 0;
}
