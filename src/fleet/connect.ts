import { touchHeard } from '../autostop/heard.js';
import type { Project } from '../core/project.js';
import { createConnector, type Connector } from '../remote/connector.js';
import type { Settings } from '../settings/load.js';
import { hostKeyStore } from '../sshconfig/index.js';

/**
 * SSH connections that trust and check host keys through pcc's known_hosts.
 * Every session and command on them first renews the host's autostop lease.
 */
export async function connectorFor(project: Project, settings: Settings): Promise<Connector> {
  return createConnector(project, settings, await hostKeyStore(project), { preamble: touchHeard });
}
