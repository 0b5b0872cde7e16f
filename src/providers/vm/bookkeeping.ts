import path from 'node:path';
import * as z from '../../core/zod.js';
import { PccError } from '../../core/errors.js';
import type { Project } from '../../core/project.js';
import type { State } from '../../state/schema.js';

/**
 * The vm provider's own part of the state (`providers.vm`): what it needs
 * to find, stop and remove each VM again, even after a crash or a reboot of
 * this computer.
 */
const vmSchema = z.object({
  site: z.enum(['home', 'cloud']),
  address: z.string(),
  mac: z.string(),
  /** In this machine's namespace, on the site's bridge. */
  tap: z.string(),
  /** `.pcc/vm/<name>`: disk, seed, console log, pid file. */
  dir: z.string(),
  /** The image dir this VM's overlay was made on; resumes keep it. */
  image: z.string(),
  pid: z.optional(z.number().check(z.int())),
  startedAt: z.optional(z.string()),
});

const vmStateSchema = z.object({
  /** The sites the VMs sit on (shared with the local provider's hosts). */
  subnet: z.string(),
  cloudSubnet: z.string(),
  bridge: z.string(),
  machines: z._default(z.record(z.string(), vmSchema), {}),
});

export type Vm = z.infer<typeof vmSchema>;
export type VmState = z.infer<typeof vmStateSchema>;

export function readVm(state: State): VmState | undefined {
  const raw = state.providers.vm;
  if (raw === undefined) return undefined;
  const parsed = vmStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PccError(`.pcc/state.json: providers.vm.${issue.path.join('.')}: ${issue.message}; fix or delete the entry`);
  }
  return parsed.data;
}

export function writeVm(state: State, vm: VmState | undefined): void {
  if (vm === undefined || Object.keys(vm.machines).length === 0) delete state.providers.vm;
  else state.providers.vm = vm as unknown as Record<string, unknown>;
}

export function patchVm(state: State, name: string, patch: Partial<Vm>): void {
  const vm = readVm(state);
  const m = vm?.machines[name];
  if (!vm || !m) return;
  vm.machines[name] = { ...m, ...patch };
  writeVm(state, vm);
}

/** A VM's files, all in its folder in the project, except the QMP socket (a unix socket path holds 107 bytes at most). */
export function vmFiles(m: Pick<Vm, 'dir'>, qmpId: string) {
  return {
    disk: path.join(m.dir, 'disk.qcow2'),
    seed: path.join(m.dir, 'seed.img'),
    consoleLog: path.join(m.dir, 'console.log'),
    pidFile: path.join(m.dir, 'qemu.pid'),
    qmpSocket: path.join('/run/pcc/vm', `${qmpId}.qmp`),
  };
}

export function vmDir(project: Project, name: string): string {
  return path.join(project.stateDir, 'vm', name);
}
