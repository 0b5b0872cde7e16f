import { stat, mkdir, rmdir } from 'node:fs/promises';
import { run } from './exec.js';
import { isMounted, unmountBelow } from './mounts.js';
import { requireTools } from './preflight.js';

/** Who owns the project folder: what the export maps every NFS user to. */
export interface FolderOwner {
  uid: number;
  gid: number;
}

/**
 * Where a project owned by someone other than root is seen as root-created
 * files would be through the export (all_squash to the owner). Beside the
 * machines' roots, outside the project: a view inside the folder it shows
 * would contain itself. A dot, which no host name has, keeps it apart from
 * every machine's `pcc-<id>-<host>`.
 */
export function projectViewPath(projectId: string): string {
  return `/run/pcc/local/pcc-${projectId}.project`;
}

/** bindfs creates every file and folder as the owner, whoever in a host makes it; what is there stays as it is. */
export function bindfsArgv(source: string, view: string, owner: FolderOwner): string[] {
  return ['bindfs', `--create-for-user=${owner.uid}`, `--create-for-group=${owner.gid}`, source, view];
}

/**
 * The folder a compute host binds at /project. A root-owned project is the
 * folder itself: what root writes is already the owner's. Any other owner
 * gets the bindfs view (made once, kept while the project has local hosts),
 * so a task that runs as root never leaves a file its user cannot remove.
 */
export function projectSource(root: string, projectId: string): Promise<string> {
  // Hosts boot in parallel: one mount for all of them, not one each stacked.
  let source = making.get(projectId);
  if (!source) {
    source = mountProjectView(root, projectId);
    making.set(projectId, source);
    source.catch(() => making.delete(projectId));
  }
  return source;
}

const making = new Map<string, Promise<string>>();

async function mountProjectView(root: string, projectId: string): Promise<string> {
  const owner = await stat(root);
  if (owner.uid === 0 && owner.gid === 0) return root;
  const view = projectViewPath(projectId);
  if (isMounted(view)) return view;
  requireTools(['bindfs']);
  await mkdir(view, { recursive: true, mode: 0o700 });
  await run(bindfsArgv(root, view, { uid: owner.uid, gid: owner.gid }));
  return view;
}

/** With the project's last local host: nothing of it stays mounted. */
export async function removeProjectView(projectId: string): Promise<string[]> {
  making.delete(projectId);
  const view = projectViewPath(projectId);
  const mounted = isMounted(view);
  await unmountBelow(view);
  await rmdir(view).catch(() => undefined);
  return mounted ? [`project view ${view}`] : [];
}
