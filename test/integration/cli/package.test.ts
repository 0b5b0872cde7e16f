import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/*
 * The package as a user gets it: `npm pack`, `npm i -g` into a temporary
 * prefix, then everything from a folder outside the checkout: --version,
 * new, run, and tsc typechecking a playbook against the shipped declarations.
 * (The suite has built dist/ already, so pack skips the prepack build.)
 */

let dir: string;
let prefix: string;
let fleet: SshdFleet;
const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-pack-'));
  prefix = path.join(dir, 'prefix');
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot, stdio: 'pipe' });
  const tarball = path.join(dir, `pcc-${JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version}.tgz`);
  execFileSync('npm', ['i', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { stdio: 'pipe', timeout: 540_000 });
  fleet = await startSshdHosts(1, { prefix: 'p' });
}, 600_000);

afterAll(async () => {
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// As a user with the prefix's bin on the PATH runs it: `pcc`, and the hints say `pcc ...` too.
const pcc = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync('pcc', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, HOME: path.join(dir, 'home'), PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`, ...env },
    timeout: 120_000,
  });

describe('the npm package, installed globally', () => {
  it('--version, new, run and a typechecked playbook work from another folder', () => {
    const version = pcc(dir, ['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);

    const made = pcc(dir, ['new', 'proj']);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toContain('cd proj && pcc up --provider local');
    // A folder elsewhere is named as given, quoted, not as a climb of ../.
    const elsewhere = path.join(tmpdir(), `pcc new elsewhere ${process.pid}`);
    const far = pcc(dir, ['new', elsewhere]);
    rmSync(elsewhere, { recursive: true, force: true });
    expect(far.stdout).toContain(`cd '${elsewhere}' && pcc up --provider local`);
    const proj = path.join(dir, 'proj');
    for (const f of ['config/pcc.env.example', 'config/ec2.env.example', 'docker/100-hello/Dockerfile', 'playbooks/site.ts', '.gitignore']) {
      expect(existsSync(path.join(proj, f)), f).toBe(true);
    }
    expect(readFileSync(path.join(proj, '.gitignore'), 'utf8')).toMatch(/^\.pcc\/$[\s\S]*^config\/\.private$/m);

    // An editor resolves `import 'pcc'` from node_modules (npm link pcc does this).
    mkdirSync(path.join(proj, 'node_modules'));
    symlinkSync(path.join(prefix, 'lib/node_modules/pcc'), path.join(proj, 'node_modules/pcc'));
    writeFileSync(
      path.join(proj, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['playbooks/*.ts'] }),
    );
    const ok = spawnSync('node', [tsc, '-p', proj], { encoding: 'utf8' });
    expect(ok.status, ok.stdout).toBe(0);
    writeFileSync(path.join(proj, 'playbooks/bad.ts'), `import { definePlaybook, ops } from 'pcc';\nexport default definePlaybook({ name: 'bad', run(host) { host.add(ops.directory(42)); } });\n`);
    const bad = spawnSync('node', [tsc, '-p', proj], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts.*not assignable to parameter of type 'string'/);
    rmSync(path.join(proj, 'playbooks/bad.ts'));

    const h = fleet.hosts[0]!;
    expect(pcc(proj, ['hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key]).status).toBe(0);
    const run = pcc(proj, ['run', 'playbooks/site.ts', 'all', '--dry']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/RECAP site \(dry run/);
  }, 300_000);
});
