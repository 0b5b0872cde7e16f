import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { withFileLock } from '../../core/lock.js';
import { PccError } from '../../core/errors.js';
import { writeOwnedFile } from '../../core/files.js';
import type { Progress } from '../../core/progress.js';
import { ensureBase } from '../local/base.js';
import { run, runAll } from '../local/exec.js';
import { unmountBelow } from '../local/mounts.js';
import { BASE_SUITE } from '../local/recipe.js';
import { mkfsArgv, vmBuildCommands, VM_IMAGE_FILES, vmRecipeHash } from './recipe.js';

/** The cached image: a raw ext4 root (the VMs' shared backing file) and the kernel and initrd booted from outside it. */
export interface VmImage {
  dir: string;
  root: string;
  kernel: string;
  initrd: string;
}

/** Where the image for the current recipe lives (complete, or not there at all), next to the nspawn base. */
export function imagePaths(cacheDir: string): VmImage {
  const dir = path.join(cacheDir, `vm-${BASE_SUITE}-${vmRecipeHash()}`);
  return { dir, root: path.join(dir, 'root.img'), kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
}

/**
 * The image for the current recipe, built if missing: from a copy of the
 * nspawn base (built first if missing), with the kernel and the rest
 * installed by apt in a chroot (about 30 s here, against about a minute
 * for a second debootstrap). Built in a temp dir next to its final place
 * and renamed there when complete, under a lock, like the base: two runs
 * never build twice and a half-built image (a kill) is never booted.
 */
export async function ensureVmImage(options: { cacheDir: string; mirror?: string; progress: Progress }): Promise<VmImage> {
  const image = imagePaths(options.cacheDir);
  if (existsSync(image.dir)) return image;
  const base = await ensureBase(options);
  return withFileLock(
    {
      lockfile: `${image.dir}.lock`,
      waitSeconds: 900,
      what: `the VM image in ${options.cacheDir}`,
      onWait: (m) => options.progress.note(`vm: ${m}`),
    },
    async () => {
      if (existsSync(image.dir)) return image;
      await removeAbandonedBuilds(options.cacheDir, path.basename(image.dir));
      const buildDir = path.join(options.cacheDir, `.build-${path.basename(image.dir)}-${process.pid}`);
      options.progress.note('vm: building the VM image once (the base plus a kernel, from Debian packages, about a minute)');
      try {
        await buildImage(base, buildDir);
        await rename(buildDir, image.dir);
      } catch (err) {
        await discard(buildDir);
        if (err instanceof PccError) throw new PccError(`${err.message}; check the Debian mirror in ${base}/etc/apt/sources.list and the network, then retry`);
        throw err;
      }
      options.progress.note(`vm: image ready in ${image.dir}`);
      return image;
    },
  );
}

async function buildImage(base: string, buildDir: string): Promise<void> {
  const root = path.join(buildDir, 'root');
  await mkdir(buildDir, { recursive: true, mode: 0o755 });
  await run(['cp', '-a', '--reflink=auto', base, root]);
  for (const [rel, f] of Object.entries(VM_IMAGE_FILES)) await writeOwnedFile(path.join(root, rel), f.content, { mode: f.mode });
  // The kernel's postinst (initramfs-tools) reads /proc.
  await run(['mount', '-t', 'proc', 'proc', path.join(root, 'proc')]);
  try {
    await runAll(vmBuildCommands(root));
  } finally {
    await unmountBelow(root);
  }
  const boot = await readdir(path.join(root, 'boot'));
  const kernel = boot.find((n) => n.startsWith('vmlinuz-'));
  const initrd = boot.find((n) => n.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new PccError(`vm: the image build installed no kernel in ${root}/boot`);
  await copyFile(path.join(root, 'boot', kernel), path.join(buildDir, 'vmlinuz'));
  await copyFile(path.join(root, 'boot', initrd), path.join(buildDir, 'initrd.img'));
  await run(mkfsArgv(root, path.join(buildDir, 'root.img')));
  // The tree is in the image now; keeping it would double the cache.
  await rm(root, { recursive: true, force: true });
}

/** Leftovers of builds that were killed; safe because we hold the lock. */
async function removeAbandonedBuilds(cacheDir: string, name: string): Promise<void> {
  for (const n of readdirSync(cacheDir)) {
    if (n.startsWith(`.build-${name}-`)) await discard(path.join(cacheDir, n));
  }
}

/** A build killed mid-apt leaves proc mounted inside; never rm -rf through it. */
async function discard(dir: string): Promise<void> {
  await unmountBelow(dir);
  await rm(dir, { recursive: true, force: true });
}
