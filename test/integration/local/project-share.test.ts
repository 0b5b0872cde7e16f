import { chownSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectViewPath } from '../../../src/providers/local/project-view.js';
import { parseMountPoints } from '../../../src/providers/local/mounts.js';
import { localCliProject, type LocalCliProject } from '../../fixtures/cli-project.js';

/**
 * A local host's /project is the project folder. In a project that belongs
 * to someone other than root, what a task writes there as root belongs to
 * that owner, as it would through the controller's export (all_squash).
 */
let t: LocalCliProject;
const NOBODY = 65534;
const mounts = () => parseMountPoints(readFileSync('/proc/mounts', 'utf8'));

beforeAll(async () => {
  t = await localCliProject('share');
  chownSync(t.project, NOBODY, NOBODY);
});

afterAll(() => t?.stop(), 300_000);

describe('/project on local hosts in a project owned by another user', () => {
  it('files a host writes as root in /project belong to the project owner, here', { timeout: 300_000 }, () => {
    t.ok('acquire', 'local');
    const write = t.ok('exec', 'local1', '--', 'mkdir -p /project/results && echo made-by-root > /project/results/a.txt && id -u');
    expect(write.stdout).toContain('local1 | 0');
    const file = path.join(t.project, 'results/a.txt');
    expect(readFileSync(file, 'utf8')).toBe('made-by-root\n');
    for (const made of [file, path.dirname(file)]) expect([statSync(made).uid, statSync(made).gid]).toEqual([NOBODY, NOBODY]);
    // The covers hold here too: settings and pcc's own files are not seen.
    expect(t.ok('exec', 'local1', '--', 'ls -A /project/config /project/.pcc | wc -l').stdout).toContain('local1 | 3');
  });

  it('destroy leaves no view mounted', () => {
    const view = projectViewPath(readFileSync(path.join(t.project, '.pcc/project-id'), 'utf8').trim());
    expect(mounts()).toContain(view);
    t.ok('destroy', 'local', '--yes');
    expect(mounts()).not.toContain(view);
  });
});
