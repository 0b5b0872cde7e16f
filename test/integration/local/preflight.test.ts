import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimTestSubnet } from '../../fixtures/local-hosts.js';
import { netnsList } from '../../fixtures/local-machine.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The provider called for real in a child process (as another user, or with a
 * PATH that lacks the tools): one line on stderr, and nothing created.
 */
describe('local provider preflight, in a real child process', () => {
  let dir: string;
  let claim: Awaited<ReturnType<typeof claimTestSubnet>>;
  let script: string;

  beforeAll(async () => {
    claim = await claimTestSubnet();
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-local-preflight-'));
    chmodSync(dir, 0o755);
    mkdirSync(path.join(dir, 'project'), { mode: 0o777 });
    chmodSync(path.join(dir, 'project'), 0o777);
    script = path.join(dir, 'acquire.mts');
    writeFileSync(
      script,
      `
import { openProject } from ${JSON.stringify(path.join(repo, 'src/core/project.ts'))};
import { silentProgress } from ${JSON.stringify(path.join(repo, 'src/core/progress.ts'))};
import { loadSettings } from ${JSON.stringify(path.join(repo, 'src/settings/load.ts'))};
import { StateStore } from ${JSON.stringify(path.join(repo, 'src/state/store.ts'))};
import { localProvider } from ${JSON.stringify(path.join(repo, 'src/providers/local/index.ts'))};
import { acquireOn } from ${JSON.stringify(path.join(repo, 'src/fleet/lifecycle.ts'))};
const project = openProject({ project: process.argv[2], home: process.argv[2] });
const ctx = { project, settings: loadSettings(project), state: new StateStore(project), progress: silentProgress, dry: false };
try {
  await acquireOn(localProvider, { type: 'cpu', count: 1, wait: true }, ctx);
  console.log('acquired');
} catch (err) {
  process.stderr.write(err.name + ': ' + err.message + '\\n');
  process.exit(1);
}
`,
    );
    chmodSync(script, 0o644);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    claim.release();
  });

  function runAcquire(prefix: string[], env: NodeJS.ProcessEnv) {
    const argv = [...prefix, process.execPath, '--import', 'tsx', script, path.join(dir, 'project')];
    return spawnSync(argv[0]!, argv.slice(1), {
      cwd: repo,
      encoding: 'utf8',
      env: { ...env, LOCAL_SUBNET: claim.subnet, HOME: dir },
      timeout: 60_000,
    });
  }

  function nothingCreated() {
    expect(existsSync(path.join(dir, 'project', '.pcc'))).toBe(false);
    expect(netnsList().filter((n) => n.includes(claim.subnet.replace(/\.0\/24$/, '.')))).toEqual([]);
    // No .pcc/ means no project id was made, so no bridge named by it exists either.
  }

  it('as a non-root user (setpriv --reuid=65534): one line saying nspawn needs root', () => {
    const r = runAcquire(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], process.env);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      'PccError: the local provider runs hosts with systemd-nspawn, which needs root; run pcc as root (e.g. sudo -E pcc ...)',
    );
    expect(r.status).toBe(1);
    nothingCreated();
  });

  it('without systemd-nspawn on PATH: one line with the apt-get command', () => {
    // Every other tool the provider checks for is there.
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['ip', 'ssh-keygen', 'mount', 'debootstrap']) {
      const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).stdout.trim();
      symlinkSync(real, path.join(bin, tool));
    }
    const r = runAcquire([], { ...process.env, PATH: bin });
    expect(r.stderr.trim()).toBe(
      'PccError: the local provider needs systemd-nspawn; install with: apt-get install --no-install-recommends systemd-container',
    );
    expect(r.status).toBe(1);
    nothingCreated();
  });
});
