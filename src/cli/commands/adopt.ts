import { adoptProject, discoverProjects } from '../../fleet/adopt.js';
import type { CliContext } from '../context.js';
import type { FoundProject, MissingLaunchKey } from '../../providers/types.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../table.js';

export default async function adoptCommand(args: { id?: string; provider: string }, ctx: CliContext): Promise<number> {
  const core = ctx.core();
  if (!args.id) {
    const found = await discoverProjects(args.provider, core);
    if (ctx.json) ctx.emitJson({ projects: found });
    else if (found.length === 0) ctx.out(`no pcc projects found on ${args.provider}`);
    else {
      ctx.out(table(['name', 'path', 'id', 'hosts', '$/h'], found.map((p) => [p.name, p.path, p.id, String(p.hosts), foundPrice(p)])));
      ctx.out('adopt one into this folder with: pcc adopt ID');
    }
    return 0;
  }
  const { hosts, aliases, missingKeys } = await adoptProject(args.provider, args.id, core);
  if (ctx.json) ctx.emitJson({ id: args.id, hosts, aliases, missingKeys });
  else {
    ctx.out(`adopted project ${args.id}: ${hosts.length ? hosts.map((h) => h.name).join(', ') : 'no hosts'}`);
    if (aliases.length) ctx.out(`ssh aliases: ${aliases.join(' ')}`);
    if (hosts.length) ctx.out('host keys are not kept in tags: they are trusted again on first use (the first pcc setup or ssh)');
  }
  for (const m of missingKeys) ctx.err(`pcc: ${missingKeyLine(m, core.settings.values.PCC_SSH_KEY)}`);
  // The records are written, but pcc cannot log in to those hosts: the same code as a host it cannot reach.
  return missingKeys.length > 0 ? EXIT.unreachable : EXIT.ok;
}

/** One line: which launch key is missing, and the ways in. */
export function missingKeyLine(m: MissingLaunchKey, configuredKey: string): string {
  const which = m.fingerprint ? `fingerprint ${m.fingerprint}` : 'deleted from EC2 since, so its fingerprint is unknown';
  return (
    `${m.hosts.join(', ')} ${m.hosts.length === 1 ? 'was' : 'were'} launched with key pair ${m.keyName} (${which}), which is not on this machine ` +
    `(PCC_SSH_KEY, .pcc/ssh/id_ed25519 and ~/.ssh/id_* were tried): copy that private key and its .pub to ${configuredKey} (PCC_SSH_KEY), ` +
    `or push a new public key to the hosts with EC2 Instance Connect or SSM`
  );
}

/** `0.170`, or `>=0.170 (no price: t2.nano)`: an unknown price is never shown as nothing. */
export function foundPrice(p: Pick<FoundProject, 'usdPerHour' | 'unpriced'>): string {
  return p.unpriced.length === 0 ? p.usdPerHour.toFixed(3) : `>=${p.usdPerHour.toFixed(3)} (no price: ${p.unpriced.join(', ')})`;
}
