import { PccError } from '../core/errors.js';
import type { ImageFolder } from '../images/discover.js';
import type { State } from '../state/schema.js';

export interface ResolvedImage {
  /** What swarm pulls. */
  ref: string;
  /** A project image pinned by the digest `pcc build` recorded; anything else is checked against its registry. */
  pinned: boolean;
}

/**
 * `pcc job run IMAGE`: a bare name that is one of `docker/NNN-name` becomes
 * `$REGISTRY_HOST/name@sha256:...` from the state's image records, so every
 * task runs exactly what was last built. Anything with a registry, a tag or a
 * digest is a plain reference. A bare name that is not a project image is
 * refused: swarm would otherwise ask Docker Hub for it on every node.
 */
export function resolveJobImage(image: string, folders: readonly ImageFolder[], state: Pick<State, 'images'>, registryHost: string): ResolvedImage {
  const bare = /^[a-z0-9][a-z0-9._-]*$/.test(image);
  if (!bare) return { ref: image, pinned: false };
  const folder = folders.find((f) => f.image === image);
  if (!folder) {
    const known = folders.map((f) => f.image).join(', ') || 'none';
    throw new PccError(`image ${image}: not one of the project's docker/NNN-name images (${known}); give a full reference such as docker.io/library/${image}:latest`);
  }
  const digest = state.images[image]?.digest;
  if (!digest) throw new PccError(`image ${image} (${folder.rel}) has not been built and pushed yet; run pcc build`);
  return { ref: `${registryHost}/${image}@${digest}`, pinned: true };
}
