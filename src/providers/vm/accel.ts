import { constants, accessSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, release, tmpdir } from 'node:os';
import path from 'node:path';
import { readIfExists, writeOwnedFile } from '../../core/files.js';
import type { Progress } from '../../core/progress.js';
import { startDetached } from '../local/machine.js';
import type { Accel } from './qemu.js';
import { processAlive, waitGone } from './qemu.js';

/**
 * KVM only where a guest really runs under it: `/dev/kvm` can exist and open
 * and still hang the guest early in its boot (nested virtualisation here).
 * The probe boots the image's kernel with no root and no initrd, under KVM:
 * it panics at once ("VFS: Unable to mount root fs") and, told to reboot on
 * panic with `-no-reboot`, QEMU exits. Seen within the time: KVM works.
 */
export function probeArgv(kernel: string, log: string): string[] {
  return [
    'qemu-system-x86_64',
    '-nodefaults',
    '-no-user-config',
    '-accel', 'kvm',
    '-cpu', 'host',
    '-m', '256',
    '-display', 'none',
    '-chardev', `file,id=console,path=${log}`,
    '-serial', 'chardev:console',
    '-no-reboot',
    '-kernel', kernel,
    '-append', 'console=ttyS0 panic=-1',
  ];
}

export const PROBE_TIMEOUT_MS = 20_000;

/** What the probe's console says when the kernel ran to its panic. */
export function probeSucceeded(console: string): boolean {
  return console.includes('Kernel panic');
}

function kvmOpens(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The answer is kept per machine (its name and kernel) and image, next to the image. */
export function accelCacheKey(kernel: string): string {
  return `${hostname()} ${release()} ${path.basename(path.dirname(kernel))}`;
}

export async function chooseAccel(options: { kernel: string; cacheFile: string; progress: Progress }): Promise<Accel> {
  const key = accelCacheKey(options.kernel);
  const cached = await readIfExists(options.cacheFile);
  let accel: Accel | undefined;
  if (cached) {
    try {
      const c = JSON.parse(cached) as { key?: string; accel?: Accel };
      if (c.key === key && (c.accel === 'kvm' || c.accel === 'tcg')) accel = c.accel;
    } catch {
      // A torn or foreign file: probe again.
    }
  }
  if (!accel) {
    accel = kvmOpens() ? await probeKvm(options.kernel) : 'tcg';
    await writeOwnedFile(options.cacheFile, `${JSON.stringify({ key, accel })}\n`, { durable: false });
  }
  if (accel === 'tcg') options.progress.note('vm: no working KVM here, so VMs run under software emulation (QEMU TCG): expect a minute or two per boot');
  return accel;
}

async function probeKvm(kernel: string): Promise<Accel> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pcc-kvm-probe-'));
  const log = path.join(dir, 'console.log');
  try {
    const started = startDetached(probeArgv(kernel, log), path.join(dir, 'qemu.log'));
    const ended = await waitGone(started.running, PROBE_TIMEOUT_MS);
    if (!ended) {
      try {
        process.kill(started.pid, 'SIGKILL');
      } catch {
        // ended just now
      }
      await waitGone(() => processAlive(started.pid), 5000);
      return 'tcg';
    }
    return probeSucceeded(await readFile(log, 'utf8').catch(() => '')) ? 'kvm' : 'tcg';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
