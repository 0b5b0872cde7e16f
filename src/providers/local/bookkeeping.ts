import path from 'node:path';
import * as z from '../../core/zod.js';
import { PccError } from '../../core/errors.js';
import type { Project } from '../../core/project.js';
import type { State } from '../../state/schema.js';

/**
 * The local provider's own part of the state (`providers.local`): what it
 * needs to find, stop and remove each machine again, even after a crash or a
 * reboot of this computer wiped /run.
 */
const machineSchema = z.object({
  role: z.enum(['compute', 'controller']),
  /** Absent in states written before sites: home. */
  site: z._default(z.enum(['home', 'cloud']), 'home'),
  address: z.string(),
  netns: z.string(),
  veth: z.string(),
  /** `.pcc/local/<name>`: upper, work, docker and the console log. */
  dir: z.string(),
  /** Where the overlay is mounted and booted from. */
  root: z.string(),
  /** The base this machine's upper dir was made against; resumes keep it. */
  base: z.string(),
  pid: z.optional(z.number().check(z.int())),
  startedAt: z.optional(z.string()),
  cgroups: z._default(z.array(z.string()), []),
});

const localStateSchema = z.object({
  subnet: z.string(),
  bridge: z.string(),
  /** The simulated internet's subnet; absent in states written before sites (then the setting's). */
  cloudSubnet: z.optional(z.string()),
  machines: z._default(z.record(z.string(), machineSchema), {}),
});

export type Machine = z.infer<typeof machineSchema>;
export type LocalState = z.infer<typeof localStateSchema>;

export function readLocal(state: State): LocalState | undefined {
  const raw = state.providers.local;
  if (raw === undefined) return undefined;
  const parsed = localStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PccError(`.pcc/state.json: providers.local.${issue.path.join('.')}: ${issue.message}; fix or delete the entry`);
  }
  return parsed.data;
}

export function writeLocal(state: State, local: LocalState | undefined): void {
  if (local === undefined || Object.keys(local.machines).length === 0) delete state.providers.local;
  else state.providers.local = local as unknown as Record<string, unknown>;
}

/** Change one machine's entry in place, if it is still there. */
export function patchMachine(state: State, name: string, patch: Partial<Machine>): void {
  const local = readLocal(state);
  const m = local?.machines[name];
  if (!local || !m) return;
  local.machines[name] = { ...m, ...patch };
  writeLocal(state, local);
}

/** Where a machine keeps its disk (in the project) and where its root is mounted (in /run, outside the exported project). */
export function machinePaths(project: Project, name: string, netns: string): Pick<Machine, 'dir' | 'root'> {
  return { dir: path.join(project.stateDir, 'local', name), root: path.join('/run/pcc/local', netns) };
}

export function overlayDirs(m: Pick<Machine, 'dir' | 'root' | 'base'>) {
  return {
    lower: m.base,
    upper: path.join(m.dir, 'upper'),
    work: path.join(m.dir, 'work'),
    merged: m.root,
  };
}
