import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { tmuxServer, until as untilFixture } from '../../fixtures/tmux.js';
import { ON_DEMAND_TABLE_DATE } from '../../../src/providers/ec2/prices.js';
import { pcc, repoRoot } from '../../fixtures/cli.js';
import { liveInstanceIds, useMotoSuite } from '../../fixtures/ec2.js';

/*
 * Item 1 of issue 30: the price before money is spent, on moto. The prices
 * are pcc's shipped table (moto has no Price List), the same source and date
 * pcc status names. Every launch here is --no-wait: moto's instances cannot
 * be reached over SSH.
 */
const suite = useMotoSuite('price');
const GPU = 1.006;
const CPU = 0.17;
// In the table's own region the source names no region (elsewhere: `pcc's shipped us-east-1 table of ...`).
const TABLE = `pcc's shipped table of ${ON_DEMAND_TABLE_DATE}`;

const { tmux, kill: killTmux } = tmuxServer('price');
const screen = (session: string) => tmux('capture-pane', '-p', '-J', '-t', session);
afterAll(() => {
  killTmux();
});

const until = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000) => untilFixture(what, probe, timeoutMs);

const env = () => ({ ...suite.moto.env, HOME: suite.t.project.home });
const run = (...args: string[]) => pcc(['--project', suite.t.project.root, ...args], env());
const liveIds = () => liveInstanceIds(suite.aws, suite.t.project.id);

describe('item 1: the price before money is spent (moto, shipped price table)', () => {
  test('acquire --dry --json carries the price per host, its source and date, and the project total now and after; --dry text says it; nothing is created', async () => {
    const json = run('acquire', 'ec2', '--type', 'gpu', '--dry', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).price).toEqual({
      what: 'g5.xlarge gpu in us-east-1',
      count: 1,
      usdPerHour: GPU,
      source: TABLE,
      nowUsdPerHour: 0,
      afterUsdPerHour: GPU,
      atLeast: false,
      unpriced: [],
    });
    const text = run('acquire', 'ec2', '--type', 'gpu', '--count', '2', '--dry');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain(`price: 2 × g5.xlarge gpu in us-east-1 at $1.006/h each (${TABLE}); this project: $0.000/h now, $2.012/h after`);
    expect(await liveIds()).toEqual([]);
  });

  test('under PCC_CONFIRM_USD_PER_HOUR it launches without asking, off a terminal, after saying the price; the next price counts what runs', async () => {
    const r = run('acquire', 'ec2', '--no-wait');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`price: 1 × c6i.xlarge cpu in us-east-1 at $0.170/h each (${TABLE}); this project: $0.000/h now, $0.170/h after`);
    // The price line comes before the launch.
    expect(r.stderr.indexOf('price: ')).toBeLessThan(r.stderr.indexOf('ec2: create 1 × c6i.xlarge'));
    expect(await liveIds()).toHaveLength(1);
    const dry = JSON.parse(run('acquire', 'ec2', '--type', 'gpu', '--dry', '--json').stdout);
    expect(dry.price.nowUsdPerHour).toBeCloseTo(CPU, 6);
    expect(dry.price.afterUsdPerHour).toBeCloseTo(CPU + GPU, 6);
  });

  test('above PCC_CONFIRM_USD_PER_HOUR off a terminal without --yes: one line naming --yes, exit 2, nothing launched; with --yes it launches', async () => {
    const r = run('acquire', 'ec2', '--type', 'gpu', '--no-wait', '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'pcc: acquire would take this project to $1.006/h, above PCC_CONFIRM_USD_PER_HOUR=0.50 (the default); run it on a terminal to confirm, or pass --yes; nothing launched',
    ]);
    expect(await liveIds()).toEqual([]);
    // The threshold is a setting: raised, the same acquire goes through without --yes.
    writeFileSync(path.join(suite.t.project.root, 'config', 'pcc.env'), 'PCC_CONFIRM_USD_PER_HOUR=2\n');
    expect(run('acquire', 'ec2', '--type', 'gpu', '--dry').code).toBe(0);
    writeFileSync(path.join(suite.t.project.root, 'config', 'pcc.env'), '');
    const yes = run('acquire', 'ec2', '--type', 'gpu', '--no-wait', '--yes');
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.stderr).toContain('price: 1 × g5.xlarge gpu in us-east-1 at $1.006/h each');
    expect(await liveIds()).toHaveLength(1);
  });

  test('on a tmux terminal the price is shown before the launch question: n launches nothing (exit 1), y launches', async () => {
    const bin = path.join(repoRoot, 'bin/pcc.js');
    const vars = Object.entries(env())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    for (const [answer, code] of [['n', '1'], ['y', '0']] as const) {
      const session = `price-${answer}`;
      const rc = path.join(suite.t.dir, `${session}.rc`);
      // A person at a terminal: CI (set when the suite runs in CI) would switch the live view off.
      const line = `cd ${suite.t.project.root} && env -u CI ${vars} TERM=xterm-256color node ${bin} acquire ec2 --type gpu --no-wait; echo $? > ${rc}; sleep 600`;
      tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '40', 'bash', '--norc', '-c', line);
      const question = await until('the question', () => {
        const s = screen(session);
        return s.includes('[y/N]') && s;
      });
      const priceAt = question.indexOf('price: 1 × g5.xlarge gpu in us-east-1 at $1.006/h each');
      expect(priceAt, question).toBeGreaterThanOrEqual(0);
      expect(question).toContain(`(${TABLE}); this project: $0.000/h now, $1.006/h after`);
      expect(question.indexOf('launch 1 × g5.xlarge gpu in us-east-1, taking this project to $1.006/h? [y/N]')).toBeGreaterThan(priceAt);
      expect(await liveIds()).toEqual([]);
      tmux('send-keys', '-t', session, answer, 'Enter');
      await until('pcc to exit', () => existsSync(rc) && readFileSync(rc, 'utf8').trim() !== '', 60_000);
      expect(readFileSync(rc, 'utf8').trim(), screen(session)).toBe(code);
      if (answer === 'n') {
        expect(screen(session)).toContain('nothing launched');
        expect(await liveIds()).toEqual([]);
      } else {
        expect(await liveIds()).toHaveLength(1);
      }
    }
  });
});
