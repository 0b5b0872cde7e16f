import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PccError } from '../core/errors.js';
import { withFileLock } from '../core/lock.js';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import type { Project } from '../core/project.js';
import { emptyState, stateSchema, type State } from './schema.js';

const queues = new Map<string, Promise<void>>();

/**
 * `.pcc/state.json`: read freely, changed only under a lock so that two pcc
 * processes cannot lose each other's writes.
 */
export class StateStore {
  readonly file: string;

  constructor(
    readonly project: Project,
    /** Told at once when another live pcc holds the state lock. */
    private readonly onWait?: (message: string) => void,
  ) {
    this.file = path.join(project.stateDir, 'state.json');
  }

  async read(): Promise<State> {
    const text = await readIfExists(this.file);
    if (text === undefined) return emptyState();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PccError(`${this.rel()}: not valid JSON; restore it from a backup or delete it and run pcc destroy to sweep`);
    }
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new PccError(`${this.rel()}: ${issue.path.join('.')}: ${issue.message}; fix or delete the entry`);
    }
    return parsed.data;
  }

  /**
   * Read, change and write back under the lock. The mutator may be async (a
   * provider records a host as soon as it exists, so a crash cannot orphan it).
   */
  async update<T>(mutate: (state: State) => T | Promise<T>): Promise<T> {
    // Updates from one process queue up here; the file lock is for other processes.
    const previous = queues.get(this.file) ?? Promise.resolve();
    const run = previous.then(() => this.updateLocked(mutate));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    queues.set(this.file, settled);
    void settled.then(() => {
      if (queues.get(this.file) === settled) queues.delete(this.file);
    });
    return run;
  }

  private async updateLocked<T>(mutate: (state: State) => T | Promise<T>): Promise<T> {
    await mkdir(this.project.stateDir, { recursive: true, mode: 0o700 });
    // Writes are short: a live holder is waited for a while, a dead one's lock taken over at once.
    return withFileLock({ lockfile: `${this.file}.lock`, what: this.rel(), waitSeconds: 60, ...(this.onWait ? { onWait: this.onWait } : {}) }, async () => {
      const state = await this.read();
      const result = await mutate(state);
      await writeOwnedFile(this.file, `${JSON.stringify(stateSchema.parse(state), null, 2)}\n`, { mode: 0o600 });
      return result;
    });
  }

  private rel(): string {
    return path.relative(this.project.root, this.file) || this.file;
  }
}
