import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { startDetached } from '../../../../src/providers/local/machine.js';

/** How a detached process ended is known from its promise even when /proc already shows it dead. */
it('ended settles with the exit status after the process is seen dead in /proc', async () => {
  const log = path.join(mkdtempSync(path.join(tmpdir(), 'pcc-detached-')), 'out.log');
  const started = startDetached(['sh', '-c', 'echo said; exit 3'], log);
  const dead = () => {
    try {
      return /\) Z /.test(readFileSync(`/proc/${started.pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };
  for (let i = 0; i < 200 && !dead(); i++) await sleep(10);
  expect(dead()).toBe(true);
  expect(await started.ended).toBe('exit 3');
  expect(readFileSync(log, 'utf8')).toBe('said\n');
});
