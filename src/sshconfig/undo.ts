import { existsSync } from 'node:fs';
import path from 'node:path';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Project } from '../core/project.js';
import { sshConfigDir, undoRecordFile } from './paths.js';

/**
 * What pcc changed outside its own folder. Flags only ever turn on until the
 * last provider is removed, which undoes exactly these and nothing the user
 * had before (an Include line they wrote themselves stays).
 */
export interface UndoRecord {
  createdSshDir?: boolean;
  /** ~/.ssh/config.d, the folder around pcc's own: removed at the end only if pcc made it. */
  createdConfigDir?: boolean;
  createdConfig?: boolean;
  addedInclude?: boolean;
}

export async function readUndo(project: Project): Promise<UndoRecord> {
  const text = await readIfExists(undoRecordFile(project));
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as UndoRecord;
  } catch {
    // A damaged record only costs the undo: pcc then leaves the user's files as they are.
    return {};
  }
}

/** Called before pcc writes anything into ~/.ssh/config.d, so it sees whether the user had that folder. */
export async function noteUndo(project: Project, flags: UndoRecord): Promise<void> {
  if (!existsSync(path.dirname(sshConfigDir(project)))) flags = { ...flags, createdConfigDir: true };
  const record = await readUndo(project);
  const next: UndoRecord = { ...record };
  for (const [k, v] of Object.entries(flags) as [keyof UndoRecord, boolean | undefined][]) if (v) next[k] = true;
  if (JSON.stringify(next) === JSON.stringify(record)) return;
  await writeOwnedFile(undoRecordFile(project), `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
}
