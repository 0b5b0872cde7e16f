import path from 'node:path';
import { writeOwnedFile } from '../../core/files.js';
import { expandHome, type Project } from '../../core/project.js';
import type { UserKey } from '../../core/user-key.js';
import { renderIgnition } from '../../render/userdata.js';
import { renderVagrantfile } from '../../render/vagrantfile.js';
import type { ProviderContext } from '../types.js';
import { CONTROLLER_MOUNTS, type Machine } from './machines.js';
import type { VagrantNetwork } from './network.js';

/**
 * `.pcc/vagrant/` holds what vagrant needs (the Vagrantfile, one Ignition
 * config per machine, vagrant's own `.vagrant/` machine data) and is removed
 * on destroy. The registry's storage sits beside it in `.pcc/registry/`, on
 * the user's disk, so images survive a destroyed or rebuilt controller.
 */
export interface VagrantPaths {
  dir: string;
  vagrantfile: string;
  ignitionDir: string;
  registryDir: string;
}

export function vagrantPaths(project: Project): VagrantPaths {
  const dir = path.join(project.stateDir, 'vagrant');
  return {
    dir,
    vagrantfile: path.join(dir, 'Vagrantfile'),
    ignitionDir: path.join(dir, 'ignition'),
    registryDir: path.join(project.stateDir, 'registry'),
  };
}

/** Writes every machine's Ignition config and the Vagrantfile; returns the Vagrantfile's path. */
export async function writeVagrantFolder(
  ctx: ProviderContext,
  machines: readonly Machine[],
  key: UserKey,
  net: VagrantNetwork,
): Promise<string> {
  const paths = vagrantPaths(ctx.project);
  const values = ctx.settings.values;
  // As on ec2: trust a registry named in the settings at first boot; the
  // project's own registry (over the overlay) is trusted by setup.
  const registryHost = values.REGISTRY_HOST ? `${values.REGISTRY_HOST}:${values.REGISTRY_PORT}` : undefined;

  // VirtualBox has no GPU passthrough: no machine gets the NVIDIA sysexts.
  for (const m of machines) {
    const ignition = renderIgnition(
      { hostname: m.name, role: m.role, sshAuthorizedKeys: [key.publicKey], registryHost },
      ctx.project.cloudConfigDir,
    );
    await writeOwnedFile(ignitionFile(paths, m), ignition, { mode: 0o600 });
  }

  const relative = (p: string) => path.relative(paths.dir, p) || '.';
  const text = renderVagrantfile({
    box: values.VAGRANT_BOX,
    boxUrl: values.VAGRANT_BOX_URL || undefined,
    cpus: values.VAGRANT_CPUS,
    memory: values.VAGRANT_MEMORY,
    netmask: net.netmask,
    sshPrivateKey: expandHome(key.privateKey, ctx.project.home),
    machines: machines.map((m) => ({
      name: m.name,
      role: m.role,
      ip: m.ip,
      ignitionFile: relative(ignitionFile(paths, m)),
      syncedFolders:
        m.role === 'controller'
          ? [
              { host: relative(ctx.project.root), guest: CONTROLLER_MOUNTS.project },
              { host: relative(paths.registryDir), guest: CONTROLLER_MOUNTS.registry },
            ]
          : [],
    })),
  });
  await writeOwnedFile(paths.vagrantfile, text);
  return paths.vagrantfile;
}

function ignitionFile(paths: VagrantPaths, m: Machine): string {
  return path.join(paths.ignitionDir, `${m.name}.ign`);
}
