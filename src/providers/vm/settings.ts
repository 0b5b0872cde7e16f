import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import * as z from '../../core/zod.js';
import { PccError } from '../../core/errors.js';
import type { ProviderContext } from '../types.js';
import { withSbin } from '../local/exec.js';

/**
 * The vm provider's settings, with their docs, as the provider's own slice.
 * The image cache and the Debian mirror are the local provider's
 * (LOCAL_BASE_CACHE, LOCAL_MIRROR): the image is made from its base.
 */
const positiveInt = z.coerce.number().check(z.int(), z.minimum(1));

export const vmSettingsSchema = z.object({
  /** How long a VM may take from QEMU's start to sshd's banner (software emulation: a minute or two). */
  VM_BOOT_TIMEOUT_S: z._default(positiveInt, 300),
  VM_MEMORY_MB: z._default(z.coerce.number().check(z.int(), z.minimum(512)), 1024),
  VM_CPUS: z._default(positiveInt, 2),
});

export type VmSettings = z.infer<typeof vmSettingsSchema>;

export const VM_SETTINGS_DOCS: Readonly<Record<keyof VmSettings, string>> = {
  VM_BOOT_TIMEOUT_S: 'Seconds a VM may take from start to answering on SSH; its console log (.pcc/vm/<name>/console.log) says why when it does not.',
  VM_MEMORY_MB: 'Memory of each VM, in MiB.',
  VM_CPUS: 'Virtual CPUs of each VM.',
};

/** The slice from the loaded settings; defaults for keys the settings do not carry (yet). */
export function vmSettings(ctx: ProviderContext): VmSettings {
  const values = ctx.settings.values as unknown as Record<string, unknown>;
  const parsed = vmSettingsSchema.safeParse({
    VM_BOOT_TIMEOUT_S: values.VM_BOOT_TIMEOUT_S,
    VM_MEMORY_MB: values.VM_MEMORY_MB,
    VM_CPUS: values.VM_CPUS,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PccError(`${issue.path.join('.')}: ${issue.message}; fix it in config/vm.env`);
  }
  return parsed.data;
}

/** Each tool the vm provider runs, and the Debian package that has it. */
export const VM_TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  'mkfs.ext4': 'e2fsprogs',
  ip: 'iproute2',
  iptables: 'iptables',
  'ssh-keygen': 'openssh-client',
  debootstrap: 'debootstrap',
};

/** Checked before anything is created. */
export function requireVmTools(tools: readonly string[], searchPath = process.env.PATH ?? ''): void {
  const dirs = withSbin(searchPath).split(':');
  const missing = tools.filter(
    (t) =>
      !dirs.some((d) => {
        try {
          accessSync(path.join(d, t), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => VM_TOOL_PACKAGES[t] ?? t))];
  throw new PccError(`the vm provider needs ${missing.join(', ')}; install with: apt-get install --no-install-recommends ${packages.join(' ')}`);
}
