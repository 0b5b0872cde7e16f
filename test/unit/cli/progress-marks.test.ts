import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProgress, rowMark } from '../../../src/cli/progress.js';

/*
 * Item 2 of issue 30: `✔ gpu1 ssh not ready: … Timed out while waiting for
 * handshake 41s`, then exit 4. The live view's marks: only a step that said it
 * succeeded gets ✔; a failed one gets ✖, and one whose phase ended before it
 * said how it went is drawn unfinished (↓), never as a success.
 */

describe('item 2: a failed or unfinished step never gets the success mark', () => {
  it('the rule: an explicit outcome wins, the runner\'s first words still count, and a row without either is unfinished once its phase ends', () => {
    expect(rowMark('ssh not ready: gpu1: Timed out while waiting for handshake', 'failed', false)).toBe('failed');
    expect(rowMark('ssh ready', 'ok', false)).toBe('ok');
    expect(rowMark('done', undefined, false)).toBe('ok');
    expect(rowMark('unreachable: connection lost', undefined, false)).toBe('failed');
    expect(rowMark('failed: exit 1', undefined, true)).toBe('failed');
    // Still going: no mark yet; when the phase ends so, unfinished, not ✔.
    expect(rowMark('waiting for ssh', undefined, false)).toBeUndefined();
    expect(rowMark('waiting for ssh', undefined, true)).toBe('unfinished');
    expect(rowMark('ssh not ready: gpu1: Timed out while waiting for handshake', undefined, true)).toBe('unfinished');
  });

  describe("the live view's rendered marks (listr2's default renderer, on a stand-in terminal)", () => {
    let written: string[];
    let restore: () => void;
    beforeEach(() => {
      written = [];
      const write = process.stderr.write;
      const ttys = [process.stdout, process.stderr].map((s) => [s, Object.getOwnPropertyDescriptor(s, 'isTTY')] as const);
      for (const [s] of ttys) Object.defineProperty(s, 'isTTY', { value: true, configurable: true });
      process.stderr.write = ((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      }) as typeof process.stderr.write;
      restore = () => {
        process.stderr.write = write;
        for (const [s, d] of ttys) {
          if (d) Object.defineProperty(s, 'isTTY', d);
          else delete (s as { isTTY?: boolean }).isTTY;
        }
      };
    });
    afterEach(() => restore());

    /** The last frame the renderer drew, without its escape codes. */
    const lastFrame = () => {
      const lines = written
        .join('')
        .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
        .split('\n');
      const start = lines.lastIndexOf(lines.filter((l) => /acquire/.test(l)).at(-1)!);
      return lines.slice(start, lines.indexOf('', start));
    };

    it('✖ beside the host whose ssh wait failed, ✔ beside the one that answered, ↓ "(unfinished)" beside one still booting', async () => {
      const progress = createProgress('live', 'acquire');
      progress.host('gpu1', 'waiting for ssh');
      progress.host('cpu1', 'waiting for ssh');
      progress.host('cpu2', 'booting');
      await progress.settled();
      progress.host('gpu1', 'ssh not ready: gpu1: Timed out while waiting for handshake', 'failed');
      progress.host('cpu1', 'ssh ready', 'ok');
      await progress.end();
      const frame = lastFrame();
      expect(frame.find((l) => l.includes('gpu1'))).toMatch(/^\s*✖ gpu1\s+ssh not ready: gpu1: Timed out while waiting for handshake$/);
      expect(frame.find((l) => l.includes('cpu1'))).toMatch(/^\s*✔ cpu1\s+ssh ready/);
      expect(frame.find((l) => l.includes('cpu2'))).toMatch(/^\s*↓ cpu2\s+booting \(unfinished\)$/);
      expect(frame.filter((l) => l.includes('✔'))).toHaveLength(1);
    });

    it('a host that goes on after a step that ended its row ("running at", then the ssh wait) shows the mark of its last step only', async () => {
      const progress = createProgress('live', 'acquire');
      progress.host('local1', 'running at 10.213.0.2');
      await progress.settled();
      progress.host('local1', 'waiting for ssh');
      await progress.settled();
      progress.host('local1', 'ssh not ready: local1: cannot connect to root@10.213.0.2:22: EHOSTUNREACH', 'failed');
      await progress.end();
      const rows = lastFrame().filter((l) => l.includes('local1'));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatch(/^\s*✖ local1\s+ssh not ready: /);
    });
  });
});
