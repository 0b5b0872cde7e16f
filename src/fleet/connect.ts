import type { Project } from '../core/project.js';
import { createConnector, type Connector } from '../remote/connector.js';
import type { Settings } from '../settings/load.js';
import { hostKeyStore } from '../sshconfig/index.js';

/** SSH connections that trust and check host keys through pcc's known_hosts. */
export async function connectorFor(project: Project, settings: Settings): Promise<Connector> {
  return createConnector(project, settings, await hostKeyStore(project));
}
