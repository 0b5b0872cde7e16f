import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { isMachineProcess, startDetached } from '../../../../src/providers/local/machine.js';

const logFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'pcc-detached-')), 'out.log');

/** How a detached process ended is known from its promise even when /proc already shows it dead. */
it('ended settles with the exit status after the process is seen dead in /proc', async () => {
  const log = logFile();
  const started = startDetached(['sh', '-c', 'echo said; exit 3'], log);
  for (let i = 0; i < 200 && started.running(); i++) await sleep(10);
  expect(started.running()).toBe(false);
  expect(await started.ended).toBe('exit 3');
  expect(readFileSync(log, 'utf8')).toBe('said\n');
});

/**
 * The CI flake "stopped while booting": while the wrapper sh exec's nspawn,
 * /proc/PID/cmdline reads empty for a moment (every exec passes through it;
 * a tight poll here caught it in 193 of 200 starts), so a check by command
 * line called a booting machine dead, and left it running untracked.
 * running() asks whether the process exited instead.
 */
it('a process running through an exec counts as running all along, though its command line reads empty for a moment', async () => {
  const root = '/run/pcc/local/pcc-test-root';
  for (let i = 0; i < 20; i++) {
    // The shape of inCgroupsArgv: sh, then exec of a command line naming systemd-nspawn and the root.
    const started = startDetached(['sh', '-c', 'exec "$@"', 'sh', 'sh', '-c', 'sleep 0.2; :', 'systemd-nspawn', root], logFile());
    const end = Date.now() + 20;
    while (Date.now() < end) expect(started.running()).toBe(true);
    expect(isMachineProcess(started.pid, root)).toBe(true);
    expect(await started.ended).toBe('exit 0');
    expect(started.running()).toBe(false);
  }
});
