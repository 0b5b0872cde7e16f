import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitTable } from '../../../src/cli/table.js';
import { pcc, repoRoot } from '../../fixtures/cli.js';

/*
 * Item 4 of issue 30: `pcc status` wrapped at 120 columns with its 13
 * columns. In a real terminal (tmux) of 80 and of 120 columns, six hosts: no
 * line of the output wraps, and --wide (every column) is what wraps there.
 * A wrapped line is one tmux joins with `capture-pane -J`, so the screen with
 * and without -J must be the same.
 */

let dir: string;
let project: string;
let home: string;
const socket = `pcc-status-${process.pid}`;
const bin = path.join(repoRoot, 'bin/pcc.js');
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const HOSTS = ['web1', 'web2', 'web3', 'gpu-node-1', 'gpu-node-2', 'db'];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-status-'));
  project = path.join(dir, 'project');
  home = path.join(dir, 'home');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  // Static hosts with the long group lists an imported inventory gives: the widest column.
  HOSTS.forEach((name, i) => {
    const r = pcc(['--project', project, 'hosts', 'add', name, `root@127.0.10.${i + 1}:22`, '--group', 'production-eu-west-1', '--group', i < 3 ? 'webservers' : 'gpu-cluster-a100'], { HOME: home });
    expect(r.code, r.stderr).toBe(0);
  });
});

afterAll(() => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
});

async function statusIn(columns: number, flags: string[] = []): Promise<{ screen: string; joined: string }> {
  const session = `s${columns}${flags.join('')}`;
  const rc = path.join(dir, `${session}.rc`);
  const line = `cd ${project} && env -u CI HOME=${home} TERM=xterm-256color node ${bin} status ${flags.join(' ')}; echo $? > ${rc}; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', String(columns), '-y', '40', 'bash', '--norc', '-c', line);
  const end = Date.now() + 30_000;
  while (!(existsSync(rc) && readFileSync(rc, 'utf8').trim() !== '')) {
    if (Date.now() > end) throw new Error(`pcc status did not end: ${tmux('capture-pane', '-p', '-t', session)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(readFileSync(rc, 'utf8').trim()).toBe('0');
  return { screen: tmux('capture-pane', '-p', '-t', session).trimEnd(), joined: tmux('capture-pane', '-p', '-J', '-t', session).trimEnd() };
}

describe('item 4: pcc status fits the terminal: no row wraps', () => {
  for (const columns of [80, 120]) {
    it(`at ${columns} columns in tmux, six hosts: every line fits, each host on one line with its name and state`, async () => {
      const { screen, joined } = await statusIn(columns);
      expect(joined).toBe(screen);
      const lines = screen.split('\n');
      expect(lines.every((l) => [...l].length <= columns)).toBe(true);
      expect(lines[0]).toMatch(/^name\s+.*state/);
      for (const h of HOSTS) expect(lines.filter((l) => l.startsWith(`${h} `))).toHaveLength(1);
      expect(screen).toMatch(/state/);
      expect(lines.filter((l) => l.includes('unmanaged'))).toHaveLength(6);
    });
  }

  it('--wide shows every column and is what wraps at 80 columns; piped, status shows every column too', async () => {
    const { screen, joined } = await statusIn(80, ['--wide']);
    expect(joined).not.toBe(screen);
    expect(joined.split('\n')[0]).toMatch(/^name\s+provider\s+site\s+state\s+up since\s+uptime\s+address\s+groups\s+\$\/h\s+spent\s+\$\/month\s+autostop\s+stops in$/);
    const piped = pcc(['--project', project, 'status'], { HOME: home });
    expect(piped.stdout.split('\n')[0]).toBe(joined.split('\n')[0]);
  });
});

describe('item 4: the fitting rule (cli-table3 underneath)', () => {
  const columns = [{ header: 'name' }, { header: 'state' }, { header: 'since', drop: 1 }, { header: 'groups', drop: 2, minWidth: 8 }, { header: 'empty', drop: 3 }];
  const rows = [['web1', 'running', '2026-12-08 10:00:00', 'production-eu-west-1,webservers', undefined]];

  it('an empty column goes first, then columns by priority, cutting before dropping where that fits, and a terminal too narrow for the rest gets its lines cut', () => {
    expect(fitTable(columns, rows).text).toBe(
      'name  state    since                groups                           empty\nweb1  running  2026-12-08 10:00:00  production-eu-west-1,webservers  -',
    );
    expect(fitTable(columns, rows, { width: 70 })).toEqual({
      text: 'name  state    since                groups\nweb1  running  2026-12-08 10:00:00  production-eu-west-1,webservers',
      hidden: [],
    });
    expect(fitTable(columns, rows, { width: 50 })).toEqual({ text: 'name  state    since                groups\nweb1  running  2026-12-08 10:00:00  production-eu…', hidden: [] });
    expect(fitTable(columns, rows, { width: 30 })).toEqual({ text: 'name  state    groups\nweb1  running  production-eu-…', hidden: ['since'] });
    expect(fitTable(columns, rows, { width: 12 })).toEqual({ text: 'name  state\nweb1  runni…', hidden: ['since', 'groups'] });
  });
});
