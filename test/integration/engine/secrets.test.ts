import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcc, type CliResult } from '../../fixtures/cli.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

/**
 * Issue 29, item 1: a secret playbook variable (DB_PASSWORD in config/.private)
 * was printed in clear by `run --dry` (the diff), `--json` and `-v` (the script
 * sent). Canaries in config/.private and in a secret-named variable of
 * config/vars.env must appear in no output and no file pcc writes, while the
 * diff still shows that their lines change.
 */
const PRIVATE_CANARY = 'canary-7f3e9c21-db';
const ROTATED_CANARY = 'canary-e0c9a6d2-db';
const VARS_CANARY = 'canary-51b0d4aa-tok';
const MARKS = ['7f3e9c21', 'e0c9a6d2', '51b0d4aa'];

let fleet: SshdFleet;
let dir: string;
let project: string;
let home: string;
let root: string;

const writePrivate = (password: string) => writeFileSync(path.join(project, 'config/.private'), `DB_PASSWORD=${password}\n`, { mode: 0o600 });
const p = (...args: string[]): CliResult => pcc(['--project', project, ...args], { HOME: home });
const clean = (r: CliResult) => {
  for (const m of MARKS) {
    expect(r.stdout, `stdout shows a secret (${m})`).not.toContain(m);
    expect(r.stderr, `stderr shows a secret (${m})`).not.toContain(m);
  }
};

beforeAll(async () => {
  fleet = await startSshdHosts(1);
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-secrets-'));
  project = path.join(dir, 'project');
  home = path.join(dir, 'home');
  root = path.join(dir, 'work', 'h1');
  mkdirSync(path.join(project, 'config'), { recursive: true });
  writeFileSync(path.join(project, 'config/vars.env'), `WORK_ROOT=${path.join(dir, 'work')}\nAPI_TOKEN=${VARS_CANARY}\n`);
  writePrivate(PRIVATE_CANARY);
  const h = fleet.hosts[0]!;
  const added = p('hosts', 'add', h.name, `root@${h.address}:22`, '--key', fleet.key);
  expect(added.code, added.stderr).toBe(0);
  writeFileSync(
    path.join(dir, 'site.ts'),
    `import { definePlaybook, ops } from 'pcc';
export default definePlaybook({
  name: 'site',
  run(host) {
    const root = host.vars.WORK_ROOT + '/' + host.name;
    host.add(ops.directory(root));
    host.add(ops.file(root + '/app.env', { content: 'user=app\\npassword=' + host.vars.DB_PASSWORD + '\\ntoken=' + host.vars.API_TOKEN + '\\nport=5432\\n', mode: '0600' }));
    // The secret in a command's words (its default name) and in a guard's script (a fact pcc would remember).
    host.add(ops.command(['sh', '-c', 'printf "%s\\\\n" "$1" > "$2"', 'sh', host.vars.DB_PASSWORD, root + '/copy'], { unless: 'grep -qxF ' + host.vars.DB_PASSWORD + ' ' + root + '/copy' }));
  },
});
`,
  );
  writeFileSync(
    path.join(dir, 'fail.ts'),
    `import { definePlaybook, ops } from 'pcc';
export default definePlaybook({
  name: 'fail',
  run(host) {
    host.add(ops.command('echo "login refused for ' + host.vars.DB_PASSWORD + '" >&2; exit 3', { name: 'log in' }));
  },
});
`,
  );
  writeFileSync(
    path.join(dir, 'throw.ts'),
    `import { definePlaybook } from 'pcc';
export default definePlaybook({
  name: 'throw',
  run(host) {
    throw new Error('no database at ' + host.vars.API_TOKEN);
  },
});
`,
  );
});
afterAll(async () => {
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
});

function filesUnder(top: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(top)) {
    const full = path.join(top, name);
    const st = statSync(full, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...filesUnder(full));
    else if (st?.isFile()) out.push(full);
  }
  return out;
}

describe('issue 29: a secret playbook variable never appears in any output, on a real sshd host', () => {
  it('run --dry: the diff shows that the secret lines are added, not their values; progress lines neither', () => {
    const r = p('run', path.join(dir, 'site.ts'), 'h1', '--dry');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    clean(r);
    expect(r.stdout).toContain('+user=app\n+password=<redacted>\n+token=<redacted>\n+port=5432');
    expect(r.stdout).toContain('h1 | would change: command sh -c printf "%s\\n" "$1" > "$2" sh <redacted>');
    expect(r.stderr).toContain('h1 | planned');
  });

  it('run --dry --json: the same diff in the JSON, nothing in clear', () => {
    const r = p('run', path.join(dir, 'site.ts'), 'h1', '--dry', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    clean(r);
    const ops = JSON.parse(r.stdout).hosts[0].ops as { name: string; diff?: string }[];
    expect(ops.find((o) => o.name.endsWith('/app.env'))?.diff).toContain('+password=<redacted>\n+token=<redacted>\n');
  });

  it('run -v: the scripts sent hide the secret, which still reaches the host', () => {
    const r = p('-v', 'run', path.join(dir, 'site.ts'), 'h1');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    clean(r);
    expect(r.stderr).toContain('--- h1: script sent');
    expect(r.stderr).toContain('password=<redacted>');
    expect(readFileSync(path.join(root, 'app.env'), 'utf8')).toBe(`user=app\npassword=${PRIVATE_CANARY}\ntoken=${VARS_CANARY}\nport=5432\n`);
    expect(readFileSync(path.join(root, 'copy'), 'utf8')).toBe(`${PRIVATE_CANARY}\n`);
  });

  it('a changed secret: the diff says its line changes, showing neither the old value nor the new', () => {
    writePrivate(ROTATED_CANARY);
    try {
      const r = p('run', path.join(dir, 'site.ts'), 'h1', '--dry');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      clean(r);
      expect(r.stdout).toContain(' user=app\n-password=<redacted>\n+password=<redacted>\n token=<redacted>\n port=5432');
    } finally {
      writePrivate(PRIVATE_CANARY);
    }
  });

  it('errors: a failing command that prints the secret, and a playbook that throws with one', () => {
    const failed = p('run', path.join(dir, 'fail.ts'), 'h1');
    expect(failed.code, failed.stdout + failed.stderr).toBe(3);
    clean(failed);
    expect(failed.stdout).toContain('h1 | failed: log in: ');
    expect(failed.stdout).toContain('login refused for <redacted>');
    const thrown = p('run', path.join(dir, 'throw.ts'), 'h1', '--json');
    expect(thrown.code, thrown.stdout + thrown.stderr).toBe(3);
    clean(thrown);
    expect(JSON.parse(thrown.stdout).hosts[0].error).toContain('no database at <redacted>');
  });

  it('exec output that holds a secret is masked too', () => {
    const r = p('exec', 'h1', '--', 'cat', path.join(root, 'app.env'));
    expect(r.code, r.stderr).toBe(0);
    clean(r);
    expect(r.stdout).toBe('h1 | user=app\nh1 | password=<redacted>\nh1 | token=<redacted>\nh1 | port=5432\n');
  });

  it('no file pcc wrote (state, caches, remembered facts, ssh config) holds a secret', () => {
    const written = [...filesUnder(path.join(project, '.pcc')), ...filesUnder(home)];
    expect(written.some((f) => f.includes(`${path.sep}facts${path.sep}`)), 'the remembered facts were written').toBe(true);
    for (const f of written) {
      const text = readFileSync(f, 'latin1');
      for (const m of MARKS) expect(text, `${f} holds a secret (${m})`).not.toContain(m);
    }
  });
});
