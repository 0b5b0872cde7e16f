import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newNonce, parseFactOutput, renderFactScript } from '../../../src/facts/batch.js';
import { CONTENT_LIMIT, fileState } from '../../../src/facts/files.js';
import { cpuCount } from '../../../src/facts/host.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pcc-facts-'));
// The unit tier runs as any user: the files are owned by whoever runs it.
const owner = userInfo().username;
const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads facts the way a round trip does, with the machine's own sh. */
function read(facts: Parameters<typeof renderFactScript>[0]) {
  const nonce = newNonce();
  const out = execFileSync('sh', ['-s'], { input: renderFactScript(facts, nonce), encoding: 'utf8' });
  return parseFactOutput(facts, out, nonce);
}

describe('file facts read as one group', () => {
  it('give the same answers as each file read alone, in one stat, one sha256sum and one cat; only hashLarge hashes a large file', () => {
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'small'), 'abc\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'empty'), '');
    writeFileSync(path.join(dir, 'big'), Buffer.alloc(CONTENT_LIMIT + 1, 7));
    writeFileSync(path.join(dir, 'odd | name $x'), "it's\n");
    writeFileSync(path.join(dir, 'new\nline'), 'n\n');
    writeFileSync(path.join(dir, 'pipe|'), 'p\n');
    symlinkSync('small', path.join(dir, 'link'));
    const names = ['sub', 'small', 'empty', 'big', 'odd | name $x', 'new\nline', 'pipe|', 'link', 'absent', 'sub/absent'];
    const facts = names.flatMap((n) => [fileState(path.join(dir, n)), fileState(path.join(dir, n), { hashLarge: true })]);
    // A newline, or a | at the end, would not survive the group's line reading: those files are read alone.
    expect(facts.filter((f) => f.group).length).toBe(2 * (names.length - 2));

    const grouped = read([...facts, cpuCount]);
    const alone = new Map(facts.map((f) => [f.key, read([{ ...f, group: undefined }]).get(f.key)]));
    for (const f of facts) expect(grouped.get(f.key), f.key).toEqual(alone.get(f.key));
    expect(grouped.get('cpu-count')).toBeGreaterThan(0);

    const script = renderFactScript(facts, 'N');
    expect(script.match(/stat -c '%F\|%a\|%U\|%G\|%s\|%n'/g)?.length).toBe(1);
    expect(grouped.get(`file:${dir}/small`)).toMatchObject({ exists: true, type: 'file', mode: '0600', content: Buffer.from('abc\n') });
    expect(grouped.get(`file+sha256:${dir}/big`)).toMatchObject({ type: 'file', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(grouped.get(`file:${dir}/big`)).toEqual({ exists: true, type: 'file', mode: '0644', owner, group, size: CONTENT_LIMIT + 1 });
    expect(grouped.get(`file:${dir}/link`)).toMatchObject({ type: 'symlink' });
    expect(grouped.get(`file:${dir}/absent`)).toEqual({ exists: false });
  });
});
