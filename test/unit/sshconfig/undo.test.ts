import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Project } from '../../../src/core/project.js';
import { providerConfigFile, removeProviderAliases, writeProviderAliases } from '../../../src/sshconfig/index.js';
import { host, snapshot, tempProject } from '../../fixtures/sshconfig.js';

let project: Project;
let dispose: () => void;
beforeEach(() => ({ project, dispose } = tempProject()));
afterEach(() => dispose());

describe('pcc removes only the folders it created (the undo record says which)', () => {
  it('a ~/.ssh/config.d the user had made (empty) before pcc stays after the last hosts rm', async () => {
    const configD = path.join(project.sshDir, 'config.d');
    mkdirSync(configD, { recursive: true, mode: 0o700 });
    const before = snapshot(project.home);
    await writeProviderAliases(project, 'static', [host('s1', { provider: 'static', groups: ['static'] })]);
    expect(existsSync(providerConfigFile(project, 'static'))).toBe(true);
    await removeProviderAliases(project, 'static');
    expect(statSync(configD).isDirectory()).toBe(true);
    expect(snapshot(project.home)).toEqual(before);
  });

  it('a ~/.ssh/config.d that pcc made goes again with the last provider', async () => {
    mkdirSync(project.sshDir, { mode: 0o700 });
    await writeProviderAliases(project, 'static', [host('s1', { provider: 'static', groups: ['static'] })]);
    await removeProviderAliases(project, 'static');
    expect(existsSync(path.join(project.sshDir, 'config.d'))).toBe(false);
  });
});
