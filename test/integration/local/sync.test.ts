import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pccAsync } from '../../fixtures/cli.js';
import { localCliProject, type LocalCliProject } from '../../fixtures/cli-project.js';

/**
 * `pcc sync up|down` on two real nspawn hosts: rsync over pcc's own ssh
 * config (aliases, key, known_hosts), checked by checksums on both ends.
 */
let t: LocalCliProject;
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;
const p = (...args: string[]) => t.p(...args);
const json = (...args: string[]) => t.json(...args);

/** Every path under `root` (but `skip`) with its sha256, or its link target. */
function tree(root: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip.includes(r)) continue;
      const full = path.join(root, r);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else out[r] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk('');
  return out;
}

beforeAll(async () => {
  t = await localCliProject('sync');
  ({ dir, project, env } = t);
  mkdirSync(path.join(project, 'data/nested'), { recursive: true });
  writeFileSync(path.join(project, 'data/big.bin'), randomBytes(10 * 1024 * 1024));
  writeFileSync(path.join(project, 'data/nested/small.txt'), 'small\n');
  symlinkSync('data/big.bin', path.join(project, 'big-link'));
  writeFileSync(path.join(project, 'scratch.tmp'), 'never leaves\n');
  writeFileSync(path.join(project, '.pccignore'), '*.tmp\n');
  const up = await pccAsync(['--project', project, 'acquire', 'local', '--count', '2'], env);
  if (up.code !== 0) throw new Error(`acquire failed: ${up.stderr}`);
}, 600_000);

afterAll(() => t?.stop(), 300_000);

describe('pcc sync on real local hosts', () => {
  it('up then down round-trips a tree with a symlink and a 10 MB file; .pcc/, config/.private and .pccignore\'d files stay here', { timeout: 300_000 }, () => {
    writeFileSync(path.join(project, 'config/.private'), 'AWS_SECRET_ACCESS_KEY=x\n', { mode: 0o600 });
    const up = json('sync', 'up', 'local');
    expect(up.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['local1', 'local2']);
    for (const h of up.hosts) {
      expect(h.error).toBeUndefined();
      expect(h.bytes).toBeGreaterThanOrEqual(10 * 1024 * 1024);
      expect(h.files).toBe(4); // big.bin, small.txt, config/local.env, .pccignore: the link is not a regular file
    }
    const seen = p('exec', 'local1', '--', 'cd ~/project && ls -A && test ! -e .pcc && test ! -e config/.private && test ! -e scratch.tmp && readlink big-link');
    expect(seen.code, seen.stderr + seen.stdout).toBe(0);
    expect(seen.stdout).toContain('local1 | data/big.bin');

    // On the hosts, files that must not come down: .pccignore applies going down too, and .pcc/ and config/.private never come.
    const plant = p('exec', 'local', '--', 'cd ~/project && echo r > remote.tmp && mkdir -p .pcc && echo s > .pcc/state.json && echo p > config/.private');
    expect(plant.code, plant.stderr).toBe(0);
    const out = path.join(dir, 'down');
    const down = json('sync', 'down', 'local', 'project', out);
    for (const h of down.hosts) expect(h.bytes).toBeGreaterThanOrEqual(10 * 1024 * 1024);
    const sent = tree(project, ['.pcc', 'config/.private', 'scratch.tmp']);
    expect(sent['big-link']).toBe('-> data/big.bin');
    expect(Object.keys(sent)).toContain('data/big.bin');
    expect(readdirSync(out).sort()).toEqual(['local1', 'local2']);
    expect(tree(path.join(out, 'local1'))).toEqual(sent);
    expect(tree(path.join(out, 'local2'))).toEqual(sent);
  });

  it('--dry lists what would move and moves nothing, either way', { timeout: 120_000 }, () => {
    writeFileSync(path.join(project, 'data/nested/small.txt'), 'changed here\n');
    const dry = json('sync', 'up', 'local1', '--dry');
    expect(dry.hosts[0].changes.some((c: string) => c.endsWith('data/nested/small.txt'))).toBe(true);
    expect(dry.hosts[0].files).toBe(1);
    const remote = p('exec', 'local1', '--', 'cat ~/project/data/nested/small.txt');
    expect(remote.stdout).toContain('local1 | small');
    const into = path.join(dir, 'dry-down');
    const drydown = json('sync', 'down', 'local1', 'project', into, '--dry');
    expect(drydown.hosts[0].files).toBeGreaterThanOrEqual(4);
    expect(existsSync(into) ? readdirSync(into) : []).toEqual([]);
    const text = p('sync', 'up', 'local1', '--dry');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/local1 \| would move <f\S* data\/nested\/small.txt/);
  });

  it('a pattern that matches nothing, or a missing LOCAL_DIR, is a one-line error and moves nothing', () => {
    const none = p('sync', 'up', 'nosuch');
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain("'nosuch'");
    const missing = p('sync', 'up', 'local', path.join(dir, 'absent'));
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('LOCAL_DIR');
    const noRemote = p('sync', 'down', 'local');
    expect(noRemote.code).toBe(2);
    expect(noRemote.stderr).toContain('REMOTE_DIR');
    // rsync's last line here is a broken pipe; pcc shows the cause.
    const notThere = p('sync', 'down', 'local1', '/nonexistent', path.join(dir, 'never'));
    expect(notThere.code).toBe(3);
    expect(notThere.stderr).toContain('local1 | /nonexistent is not a folder there (No such file or directory); REMOTE_DIR names a folder');
    expect(notThere.stderr).not.toContain('Broken pipe');
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
  });
});
