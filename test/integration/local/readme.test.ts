import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileLock } from '../../../src/core/lock.js';
import { pcc, repoRoot } from '../../fixtures/cli.js';
import { TEST_BASE_CACHE } from '../../fixtures/local-hosts.js';

/**
 * The README's commands exactly as written, on the default settings: the
 * default home (10.213.0.0/24) and cloud (10.212.0.0/24) subnets, which the
 * other tests never use (they claim 10.213.100+.0/24). Only the base cache
 * is pointed at the shared one, so no second base is built. Settings a test
 * picks for itself never show what the defaults do: the simulated internet
 * once broke on them alone (a cloud host took the controller's link name).
 */
let dir: string;
let project: string;
let env: NodeJS.ProcessEnv;
let release: (() => void) | undefined;
let held: Promise<void> | undefined;
const p = (...args: string[]) => pcc(['--project', project, ...args], env);
const must = (r: { code: number; stdout: string; stderr: string }) => {
  expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
};

beforeAll(async () => {
  // One test at a time on the default subnets, even across test runs.
  await new Promise<void>((taken) => {
    held = withFileLock({ lockfile: path.join(tmpdir(), 'pcc-test-default-subnets.lock'), what: 'the default subnets', waitSeconds: 600 }, () =>
      new Promise<void>((done) => {
        release = done;
        taken();
      }),
    );
  });
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-readme-'));
  project = path.join(dir, 'project');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  cpSync(path.join(repoRoot, 'docker/999-mybusybox'), path.join(project, 'docker/999-mybusybox'), { recursive: true });
  writeFileSync(path.join(project, 'config/local.env'), `LOCAL_BASE_CACHE=${TEST_BASE_CACHE}\n`);
  env = { HOME: path.join(dir, 'home') };
  mkdirSync(env.HOME!, { recursive: true });
}, 660_000);

afterAll(async () => {
  if (project && existsSync(project)) p('destroy', 'local', '--yes');
  if (dir) rmSync(dir, { recursive: true, force: true });
  release?.();
  await held;
});

describe("the README's commands on the default settings", () => {
  it("pcc up --provider local, then the README's job example: the results are in results/ on this machine", { timeout: 420_000 }, () => {
    must(p('up', '--provider', 'local'));
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Running work'));
    const example = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    expect(example).toContain('cat results/*.txt');
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', `pcc() { node ${path.join(repoRoot, 'bin/pcc.js')} --project ${project} "$@"; }\n${example}`], {
      cwd: project,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    const files = readdirSync(path.join(project, 'results')).sort();
    expect(files).toEqual(['0.txt', '1.txt', '2.txt', '3.txt', '4.txt', '5.txt', '6.txt', '7.txt']);
    for (let i = 0; i < 8; i++) expect(readFileSync(path.join(project, `results/${i}.txt`), 'utf8')).toBe(`${i * i}\n`);
  });

  it('two --site cloud hosts next to the default home: setup all reaches the controller and every host', { timeout: 300_000 }, () => {
    must(p('acquire', 'local', '--site', 'cloud', '--count', '2'));
    const setup = JSON.parse(must(p('--json', 'setup', 'all')).stdout);
    expect(setup.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['cloud1', 'cloud2', 'init', 'local1']);
    for (const h of setup.hosts) expect(h.status, `${h.host}: ${h.error ?? ''}`).not.toMatch(/failed|unreachable/);
    const init = must(p('exec', 'init', '--', 'hostname'));
    expect(init.stdout).toContain('init | init');
    // The cloud hosts see the same project folder.
    const cloud = must(p('exec', 'cloud1', '--', 'cat /project/results/3.txt'));
    expect(cloud.stdout).toContain('cloud1 | 9');
  });
});
