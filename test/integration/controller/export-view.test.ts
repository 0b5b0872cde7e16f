import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_VIEW_SCRIPT, EXPORT_VIEW_SH, EXPORT_VIEW_UNIT, exportViewUnit } from '../../../playbooks/export-view.js';
import { UNEXPORTED_DIRS } from '../../../src/core/project.js';

/**
 * The Vagrant controller's export view, made by its real script with real
 * mounts, in a private mount namespace of this machine. What cannot run here
 * is the kernel's NFS server (this kernel has none) and Vagrant's share: a
 * bind of a folder onto itself stands in for the share's mount point, and
 * systemd (not PID 1 here) is checked by systemd-analyze verify.
 */
let dir: string;
let share: string;
let view: string;
let script: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-export-view-'));
  share = path.join(dir, 'project');
  view = path.join(dir, 'project-export');
  script = path.join(dir, 'export-view');
  mkdirSync(path.join(share, 'config'), { recursive: true });
  mkdirSync(path.join(share, '.pcc'), { recursive: true });
  writeFileSync(path.join(share, 'config/.private'), 'AWS_SECRET_ACCESS_KEY=canary-secret\n', { mode: 0o600 });
  writeFileSync(path.join(share, '.pcc/state.json'), '{}\n');
  writeFileSync(path.join(share, 'data.txt'), 'results\n');
  writeFileSync(script, EXPORT_VIEW_SH, { mode: 0o755 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `steps` in a fresh private mount namespace: nothing mounted there outlives it. */
function inMountNamespace(steps: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', steps], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const makeView = (wait = 0, dirs: readonly string[] = UNEXPORTED_DIRS) => `sh ${script} ${share} ${view} ${wait} ${dirs.join(' ')}`;
const mountShare = () => `mount --bind ${share} ${share}`;
const mountsAtView = () => `findmnt -rn -o TARGET | grep -c '^${view}' || true`;

describe('the Vagrant controller exports a view of the project without .pcc/ and config/', () => {
  it('the view shows the project, and config/ and .pcc/ empty and read-only; writes reach the share', () => {
    const r = inMountNamespace(
      [
        mountShare(),
        makeView(),
        `cat ${view}/data.txt`,
        `find ${view}/config ${view}/.pcc -mindepth 1 | wc -l`,
        `cat ${view}/config/.private 2>/dev/null || echo unreadable`,
        `touch ${view}/config/new 2>/dev/null || echo read-only`,
        `echo written > ${view}/out.txt`,
      ].join(' && '),
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe('results\n0\nunreadable\nread-only\n');
    expect(spawnSync('cat', [path.join(share, 'out.txt')], { encoding: 'utf8' }).stdout).toBe('written\n');
    rmSync(path.join(share, 'out.txt'));
  });

  it('with shared mount propagation (Flatcar\'s /), the covers stay on the view: the share itself keeps its folders', () => {
    const r = inMountNamespace(
      [
        `mount --make-rshared /`,
        mountShare(),
        makeView(),
        `findmnt -rn -o TARGET | grep -c '^${share}/' || true`,
        `cat ${share}/config/.private`,
        `find ${view}/config -mindepth 1 | wc -l`,
      ].join(' && '),
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe('0\nAWS_SECRET_ACCESS_KEY=canary-secret\n0\n');
  });

  it('a second start makes the view anew instead of stacking a second one', () => {
    const r = inMountNamespace([mountShare(), makeView(), makeView(), mountsAtView()].join(' && '));
    expect([r.code, r.stderr]).toEqual([0, '']);
    // The bind and one tmpfs per covered folder.
    expect(r.stdout.trim()).toBe(String(1 + UNEXPORTED_DIRS.length));
  });

  it('before Vagrant has mounted the share it waits, then fails with a line and makes no view', () => {
    const started = Date.now();
    const r = inMountNamespace(`${makeView(1)}; echo "exit $?"; ${mountsAtView()}`);
    expect(r.stdout).toBe('exit 1\n0\n');
    expect(r.stderr).toBe(`${share} is not mounted: Vagrant mounts the project there when the machine comes up\n`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('fails closed: a folder it cannot cover leaves no view behind, so the secrets are never half-exposed', () => {
    writeFileSync(path.join(share, 'not-a-dir'), 'x');
    const r = inMountNamespace(`${mountShare()} && ${makeView(0, ['config', 'not-a-dir'])}; echo "exit $?"; ${mountsAtView()}`);
    rmSync(path.join(share, 'not-a-dir'));
    expect(r.stdout).toBe('exit 1\n0\n');
  });

  it('systemd-analyze verify accepts the unit', () => {
    const units = path.join(dir, 'units');
    mkdirSync(units, { recursive: true });
    const file = path.join(units, EXPORT_VIEW_UNIT);
    writeFileSync(file, exportViewUnit('/project', '/project-export'));
    const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
    expect([verify.status, verify.stderr]).toEqual([0, '']);
    expect(exportViewUnit('/project', '/project-export')).toContain(`ExecStart=/bin/sh ${EXPORT_VIEW_SCRIPT} /project /project-export 120 .pcc config\n`);
  });
});
