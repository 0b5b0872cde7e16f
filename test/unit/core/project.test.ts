import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openProject, writeProjectId } from '../../../src/core/project.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('the project id', () => {
  it('item 11: .pcc/project-id is 0600 like the folder\'s other files, made at first use or written by adopt', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-project-'));
    const made = openProject({ project: path.join(dir, 'a'), home: dir });
    expect(made.id).toMatch(/^[0-9a-f]{12}$/);
    expect(statSync(path.join(made.stateDir, 'project-id')).mode & 0o777).toBe(0o600);
    expect(statSync(made.stateDir).mode & 0o777).toBe(0o700);

    const adopted = openProject({ project: path.join(dir, 'b'), home: dir });
    writeProjectId(adopted.stateDir, '0123456789ab');
    expect(readFileSync(path.join(adopted.stateDir, 'project-id'), 'utf8')).toBe('0123456789ab\n');
    expect(statSync(path.join(adopted.stateDir, 'project-id')).mode & 0o777).toBe(0o600);
  });
});
