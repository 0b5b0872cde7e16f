import { access, constants, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserInputError } from '../core/errors.js';
import type { Settings } from '../settings/load.js';
import type { State } from '../state/schema.js';
import { contentHash } from './context.js';
import { discoverImages, type ImageFolder } from './discover.js';
import { parseDockerfile, REGISTRY_ARG } from './dockerfile.js';
import type { RegistryTarget } from './registry.js';

/** What one folder needs before anything runs: its pcc dependencies and build args. */
export interface ImageSpec extends ImageFolder {
  /** pcc images this one builds FROM, all earlier in the order. */
  dependencies: string[];
  buildArgs: Record<string, string>;
  /** An executable `prepare` in the folder, run before hashing. */
  prepare?: string;
}

export interface ImagePlan {
  specs: ImageSpec[];
  notes: string[];
}

/**
 * Reads the `docker/` tree into build specs in build order. Every layout or
 * ordering mistake is a one-line error here, before anything is built.
 */
export async function planImages(options: {
  dockerDir: string;
  projectRoot: string;
  registry: RegistryTarget;
  settings: Pick<Settings, 'vars' | 'origin'>;
}): Promise<ImagePlan> {
  const { folders, notes } = discoverImages(options.dockerDir, options.projectRoot);
  const position = new Map(folders.map((f, i) => [f.image, i]));
  const specs: ImageSpec[] = [];
  for (const [index, folder] of folders.entries()) {
    const where = `${folder.rel}/Dockerfile`;
    const info = parseDockerfile(await readFile(folder.dockerfile, 'utf8'), where);
    const dependencies: string[] = [];
    for (const from of info.registryFroms) {
      const at = position.get(from.image);
      if (at === undefined) {
        const known = folders.map((f) => f.image).join(', ') || 'none';
        throw new UserInputError(`${where}:${from.line}: FROM \${${REGISTRY_ARG}}/${from.image}: no docker/NNN-${from.image} folder builds that image (pcc images: ${known})`);
      }
      if (at === index) throw new UserInputError(`${where}:${from.line}: the image ${from.image} cannot build FROM itself`);
      if (at > index) {
        throw new UserInputError(
          `${where}:${from.line}: FROM \${${REGISTRY_ARG}}/${from.image} refers to ${folders[at]!.rel}, which builds later; give it a lower number than ${folder.folder}`,
        );
      }
      if (!dependencies.includes(from.image)) dependencies.push(from.image);
    }
    specs.push({
      ...folder,
      dependencies,
      buildArgs: buildArgs(info.args, options.registry, options.settings),
      prepare: await executable(path.join(folder.dir, 'prepare')),
    });
  }
  return { specs, notes };
}

/**
 * REGISTRY_HOST, plus every config/ variable that the Dockerfile declares as an
 * ARG. Variables from config/.private never become build args: build args are
 * readable in the image's history.
 */
function buildArgs(declared: Set<string>, registry: RegistryTarget, settings: Pick<Settings, 'vars' | 'origin'>): Record<string, string> {
  const args: Record<string, string> = { [REGISTRY_ARG]: registry.host };
  for (const [key, value] of Object.entries(settings.vars)) {
    if (!declared.has(key) || key === REGISTRY_ARG) continue;
    if (path.basename(settings.origin[key] ?? '') === '.private') continue;
    args[key] = value;
  }
  return args;
}

async function executable(file: string): Promise<string | undefined> {
  try {
    if (!(await stat(file)).isFile()) return undefined;
    await access(file, constants.X_OK);
    return file;
  } catch {
    return undefined;
  }
}

export type Decision =
  | { action: 'build'; hash: string; reason: string }
  | { action: 'skip'; hash: string; digest?: string };

/**
 * Build or skip, from the content hash and what the state recorded. The hash
 * already folds in the dependencies' hashes, so a changed base changes it.
 */
export async function decide(
  spec: ImageSpec,
  dependencyHashes: Record<string, string>,
  state: Pick<State, 'images'>,
  force: boolean,
): Promise<Decision> {
  const hash = await contentHash({
    dir: spec.dir,
    dockerfile: spec.dockerfile,
    buildArgs: spec.buildArgs,
    dependencies: dependencyHashes,
  });
  const record = state.images[spec.image];
  if (force) return { action: 'build', hash, reason: 'forced' };
  if (!record) return { action: 'build', hash, reason: 'new' };
  if (record.hash !== hash) return { action: 'build', hash, reason: 'changed' };
  return { action: 'skip', hash, digest: record.digest };
}

/** The tag that names an image's content. */
export function hashTag(hash: string): string {
  return hash.slice(0, 12);
}
