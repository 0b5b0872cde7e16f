import { PccError } from '../core/errors.js';
import { MANIFEST_TYPES, type RegistryTarget } from '../images/registry.js';
import { imageCudaNeed, type ImageCudaNeed } from './cuda.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { os?: string; architecture?: string };
}
interface Manifest {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
}

/**
 * The CUDA an image in the registry needs, read from its config blob through
 * the registry's manifest API (manifest, then config: two small GETs, no
 * layer is pulled). For an index, the `architecture` entry is read.
 */
export async function registryImageCuda(
  registry: RegistryTarget,
  name: string,
  reference: string,
  options: {
    architecture?: string;
    timeoutMs?: number;
    /** The registry as messages name it, where `registry.host` is a tunnel's local end. */
    shownAs?: string;
  } = {},
): Promise<ImageCudaNeed | undefined> {
  const { architecture = 'amd64', timeoutMs = 5_000 } = options;
  const base = `${registry.plainHttp ? 'http' : 'https'}://${registry.host}/v2/${name}`;
  const image = `${options.shownAs ?? registry.host}/${name}${reference.includes(':') ? '@' : ':'}${reference}`;
  const get = async <T>(url: string, accept: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(url, { headers: { Accept: accept }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new PccError(`cannot read ${image} from the registry (${(err as Error).message}); check that the registry at ${registry.host} is up`);
    }
    if (res.status === 404) throw new PccError(`${image} is not in the registry; push it first (pcc build)`);
    if (!res.ok) throw new PccError(`the registry answered ${res.status} for ${image}; check REGISTRY_HOST (${registry.source})`);
    return (await res.json()) as T;
  };
  let manifest = await get<Manifest>(`${base}/manifests/${reference}`, MANIFEST_TYPES);
  if (manifest.manifests) {
    const entry =
      manifest.manifests.find((m) => m.platform?.architecture === architecture && (m.platform.os ?? 'linux') === 'linux') ?? manifest.manifests[0];
    if (!entry) throw new PccError(`${image} is an empty image index; rebuild and push it`);
    manifest = await get<Manifest>(`${base}/manifests/${entry.digest}`, MANIFEST_TYPES);
  }
  if (!manifest.config) throw new PccError(`${image} has no image config in its manifest; rebuild and push it`);
  return imageCudaNeed(await get(`${base}/blobs/${manifest.config.digest}`, '*/*'));
}
