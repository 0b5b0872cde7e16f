import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../core/errors.js';

/** One `docker/NNN-name/` folder that pcc builds into the image `name`. */
export interface ImageFolder {
  /** The folder's name, e.g. `100-base`. */
  folder: string;
  /** Absolute path to the folder. */
  dir: string;
  /** Project-relative path for messages, e.g. `docker/100-base`. */
  rel: string;
  order: number;
  /** The image (repository) name, e.g. `base`. */
  image: string;
  dockerfile: string;
}

export interface Discovery {
  folders: ImageFolder[];
  /** Entries that were skipped and why, for the user to see. */
  notes: string[];
}

const NUMBERED = /^(\d+)-(.*)$/;
/** One path component of a registry repository name (distribution's reference grammar). */
const IMAGE_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Finds the folders to build, in build order. Layout mistakes the user surely
 * did not mean (a bad image name, two folders for one image, a numbered folder
 * without a Dockerfile) are errors before anything is built; a folder that is
 * simply not numbered is skipped with a note, so notes and scratch folders can
 * live beside the images.
 */
export function discoverImages(dockerDir: string, projectRoot: string): Discovery {
  const relDocker = path.relative(projectRoot, dockerDir) || '.';
  let entries: Dirent[];
  try {
    entries = readdirSync(dockerDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { folders: [], notes: [`${relDocker}/ does not exist: nothing to build`] };
    }
    throw new UserInputError(`${relDocker}/: cannot read (${(err as Error).message})`);
  }

  const folders: ImageFolder[] = [];
  const notes: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const rel = `${relDocker}/${entry.name}`;
    const dir = path.join(dockerDir, entry.name);
    if (!isDirectory(entry, dir)) continue;
    const match = NUMBERED.exec(entry.name);
    if (!match) {
      notes.push(`${rel}: skipped, not named NNN-name (e.g. 100-${suggestName(entry.name)})`);
      continue;
    }
    const image = match[2]!;
    if (!IMAGE_NAME.test(image)) {
      throw new UserInputError(
        `${rel}: "${image}" is not a valid image name; rename the folder to ${match[1]}-${suggestName(image)} (lowercase letters and digits, joined by - . or _)`,
      );
    }
    const dockerfile = path.join(dir, 'Dockerfile');
    if (!isFile(dockerfile)) {
      throw new UserInputError(`${rel} has no Dockerfile; add one, or drop the number prefix from the folder's name to skip it`);
    }
    folders.push({ folder: entry.name, dir, rel, order: Number(match[1]), image, dockerfile });
  }

  folders.sort((a, b) => a.order - b.order || a.folder.localeCompare(b.folder));
  const byImage = new Map<string, ImageFolder>();
  for (const f of folders) {
    const other = byImage.get(f.image);
    if (other) {
      throw new UserInputError(`${other.rel} and ${f.rel} both build the image "${f.image}"; rename one of the folders`);
    }
    byImage.set(f.image, f);
  }
  if (folders.length === 0) notes.push(`${relDocker}/ has no NNN-name folders: nothing to build`);
  return { folders, notes };
}

function isDirectory(entry: Dirent, full: string): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(full).isDirectory();
  } catch {
    return false;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function suggestName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/^\d+-/, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return cleaned.length > 0 ? cleaned : 'name';
}
