import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateSchema } from '../../../src/state/schema.js';
import { pccAsync } from '../../fixtures/cli.js';
import { localCliProject, type LocalCliProject } from '../../fixtures/cli-project.js';

/**
 * Data volumes on real nspawn hosts: a folder under .pcc/volumes/ bound into
 * the host at boot. What is written there outlives release and destroy.
 */
let t: LocalCliProject;
let project: string;
let env: NodeJS.ProcessEnv;
const p = (...args: string[]) => t.p(...args);
const ok = (...args: string[]) => t.ok(...args);
const json = (...args: string[]) => t.json(...args);
const oneLineError = (r: { code: number; stderr: string }, code = 1) => {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
};

beforeAll(async () => {
  t = await localCliProject('volumes');
  ({ project, env } = t);
});

afterAll(() => t?.stop(), 300_000);

describe('pcc volume on real local hosts', () => {
  it('an older state without volumes reads as none', () => {
    expect(stateSchema.parse({ version: 1, hosts: {} }).volumes).toEqual({});
  });

  it('bad input is a one-line error and makes nothing', () => {
    oneLineError(p('volume', 'create', 'Bad_Name', '--size', '1'));
    oneLineError(p('volume', 'create', 'data', '--size', '0'));
    oneLineError(p('volume', 'create', 'data'), 2);
    oneLineError(p('acquire', 'local', '--volume', 'nosuch'));
    oneLineError(p('acquire', 'local', '--volume', 'data:relative/dir'));
    oneLineError(p('volume', 'rm', 'nosuch'));
    expect(json('volume', 'ls')).toEqual([]);
  });

  it('a file written in the volume on local1 survives release and destroy, and is there on a new host with the same --volume', { timeout: 600_000 }, async () => {
    const made = json('volume', 'create', 'data', '--size', '1');
    expect(made).toMatchObject({ name: 'data', provider: 'local', sizeGiB: 1 });
    const folder = path.join(project, '.pcc/volumes/data');
    expect(existsSync(folder)).toBe(true);

    const first = await pccAsync(['--project', project, '--json', 'acquire', 'local', '--volume', 'data:/data'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).volume).toMatchObject({ name: 'data', attachedTo: 'local1', mountPoint: '/data' });
    const write = p('exec', 'local1', '--', 'echo kept-across-hosts > /data/note && findmnt -n -o TARGET /data');
    expect(write.code, write.stderr + write.stdout).toBe(0);
    expect(write.stdout).toContain('local1 | /data');
    expect(readFileSync(path.join(folder, 'note'), 'utf8')).toBe('kept-across-hosts\n');
    expect(json('volume', 'ls')[0]).toMatchObject({ name: 'data', attachedTo: 'local1', mountPoint: '/data' });

    const refused = p('volume', 'rm', 'data');
    oneLineError(refused);
    expect(refused.stderr).toContain('attached to local1');
    oneLineError(p('acquire', 'local', '--count', '2', '--volume', 'data'));

    // Without a terminal and without --yes, release lists what would go and removes nothing.
    const asked = p('release', 'local1');
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('would remove');
    expect(asked.stderr.trim().split('\n').at(-1)).toBe('pcc: pcc release local1 removes the above; run it on a terminal to confirm, or pass --yes');
    expect(json('hosts').map((h: { name: string }) => h.name)).toContain('local1');
    ok('release', 'local1', '--yes');
    expect(json('volume', 'ls')[0].attachedTo).toBeUndefined();
    expect(readFileSync(path.join(folder, 'note'), 'utf8')).toBe('kept-across-hosts\n');

    const second = await pccAsync(['--project', project, '--json', 'acquire', 'local', '--volume', 'data'], env);
    expect(second.code, second.stderr).toBe(0);
    const host = JSON.parse(second.stdout).volume.attachedTo as string;
    const read = p('exec', host, '--', 'cat /data/note');
    expect(read.stdout).toContain(`${host} | kept-across-hosts`);

    const destroyed = ok('destroy', 'local', '--yes');
    expect(destroyed.stderr).toContain('volume data remains (1 GiB, no charge); pcc volume rm data removes it');
    expect(readFileSync(path.join(folder, 'note'), 'utf8')).toBe('kept-across-hosts\n');
    expect(json('volume', 'ls')).toMatchObject([{ name: 'data', provider: 'local' }]);

    const kept = p('volume', 'rm', 'data');
    expect(kept.code).toBe(2);
    expect(kept.stderr).toBe('would remove volume data (local, 1 GiB) and everything on it\npcc: pcc volume rm data removes the above; run it on a terminal to confirm, or pass --yes\n');
    expect(readFileSync(path.join(folder, 'note'), 'utf8')).toBe('kept-across-hosts\n');
    ok('volume', 'rm', 'data', '--yes');
    expect(existsSync(folder)).toBe(false);
    expect(json('volume', 'ls')).toEqual([]);
  });
});
