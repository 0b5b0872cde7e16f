import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ignore from 'ignore';
import { filesToSend, keptPaths, parseRsyncStats, rsyncFailure } from '../../../src/fleet/sync.js';

const recorded = (name: string) => readFileSync(path.join(import.meta.dirname, '../../fixtures/rsync', name), 'utf8');

describe('rsync --stats parser (recorded rsync 3.5.0 output)', () => {
  it('reads the figures with thousands separators (default -h)', () => {
    expect(parseRsyncStats(recorded('stats-default-h.txt'))).toEqual({ files: 2, bytes: 10_485_763, bytesSent: 10_488_553, bytesReceived: 65 });
  });
  it('reads plain digits (--no-h) of a dry run', () => {
    expect(parseRsyncStats(recorded('stats-no-h-dry.txt'))).toEqual({ files: 2, bytes: 10_485_763, bytesSent: 161, bytesReceived: 59 });
  });
  it('refuses output without a stats block', () => {
    expect(() => parseRsyncStats('sent 1 bytes\n')).toThrow(/Number of regular files transferred/);
  });
});

describe('what sync up sends', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pcc-sync-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('never .pcc/ or config/.private; .pccignore in gitignore syntax (anchored, negation, dir-only)', async () => {
    for (const d of ['.pcc/ssh', 'config', 'data/logs', 'src/build', 'build']) mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of ['.pcc/state.json', 'config/.private', 'config/ec2.env', 'data/a.log', 'data/keep.log', 'data/logs/x', 'src/build/o', 'build/o', 'top.tmp', 'src/deep.tmp', 'README'])
      writeFileSync(path.join(dir, f), f);
    symlinkSync('README', path.join(dir, 'link'));
    writeFileSync(path.join(dir, '.pccignore'), '# comment\n*.log\n!keep.log\n/build/\n*.tmp\n!/src/deep.tmp\n');
    expect(await filesToSend(dir)).toEqual([
      '.pccignore',
      'README',
      'config',
      'config/ec2.env',
      'data',
      'data/keep.log',
      'data/logs',
      'data/logs/x',
      'link',
      'src',
      'src/build',
      'src/build/o',
      'src/deep.tmp',
    ]);
  });
});

describe('what sync down fetches', () => {
  it("a host's listing (rsync %n) under the same rules: nothing below an ignored folder, .pcc/ and config/.private never", () => {
    const rules = ignore().add(['.pcc/', 'config/.private', 'out/', '*.tmp', '!keep.tmp']);
    const listed = ['./', '.pcc/', '.pcc/state.json', 'config/', 'config/.private', 'config/a.env', 'out/', 'out/keep.tmp', 'x.tmp', 'keep.tmp', 'link', 'd/', 'd/f'];
    expect(keptPaths(listed, rules)).toEqual(['config', 'config/a.env', 'keep.tmp', 'link', 'd', 'd/f']);
  });
});

describe('a failed rsync in one line', () => {
  it('shows the cause, not the broken pipe after it, and says a missing or file REMOTE_DIR in pcc words', () => {
    const tail = 'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1956) [Receiver=3.5.0]\nrsync: [Receiver] write error: Broken pipe (32)\n';
    expect(rsyncFailure(23, `rsync: [sender] change_dir "/project/data/out.txt" failed: Not a directory (20)\n${tail}`)).toBe(
      '/project/data/out.txt is not a folder there (Not a directory); REMOTE_DIR names a folder, e.g. the one that holds the file',
    );
    expect(rsyncFailure(23, `rsync: [sender] change_dir "/nonexistent" failed: No such file or directory (2)\n${tail}`)).toMatch(/^\/nonexistent is not a folder there \(No such file or directory\)/);
    expect(rsyncFailure(12, 'rsync: [sender] write error: No space left on device (28)\nrsync error: error in rsync protocol data stream (code 12)\n')).toBe('rsync exit 12: [sender] write error: No space left on device (28)');
    expect(rsyncFailure(255, 'ssh: connect to host x port 22: Connection refused\nrsync: connection unexpectedly closed (0 bytes received so far) [Receiver]\nrsync error: unexplained error (code 255) at io.c(232) [Receiver=3.5.0]\n')).toBe(
      'rsync exit 255: ssh: connect to host x port 22: Connection refused',
    );
  });
});
