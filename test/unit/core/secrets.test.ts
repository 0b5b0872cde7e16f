import { createRequire } from 'node:module';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { redactOutput } from '../../../src/cli/redact.js';
import { openProject } from '../../../src/core/project.js';
import { holdsSecret, noteSecret, redactDiff, redactSecrets } from '../../../src/core/secrets.js';
import { renderCommand } from '../../../src/remote/shell.js';
import { hostVarsResolver } from '../../../src/settings/host-vars.js';
import { loadSettings } from '../../../src/settings/load.js';
import type { HostRecord } from '../../../src/state/schema.js';

const { createTwoFilesPatch } = createRequire(import.meta.url)('diff') as typeof import('diff');

/** Issue 29, item 1: a secret playbook variable was printed in clear by run --dry, --json and -v. */
describe('secret values never printed', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pcc-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the core notes every value of config/.private, secret-named variables in any file or --var, and the secret settings; nothing else', () => {
    mkdirSync(path.join(dir, 'config/groups'), { recursive: true });
    writeFileSync(path.join(dir, 'config/.private'), 'DB_PASSWORD=unit-canary-private\nPLAIN_NAME=unit-canary-plain\nAWS_SECRET_ACCESS_KEY=unit-canary-aws\n');
    chmodSync(path.join(dir, 'config/.private'), 0o600);
    writeFileSync(path.join(dir, 'config/vars.env'), 'API_TOKEN=unit-canary-vars\nDATASET=unit-shown-dataset\n');
    writeFileSync(path.join(dir, 'config/groups/bench.env'), 'service_secret=unit-canary-group\n');
    const project = openProject({ project: dir, home: path.join(dir, 'home') });
    const settings = loadSettings(project, {});
    const host = { name: 'h1', provider: 'static', groups: ['bench'] } as unknown as HostRecord;
    hostVarsResolver(project, settings, { db_passwd: 'unit-canary-flag', EXTRA: 'unit-shown-flag' })(host);
    for (const hidden of ['private', 'plain', 'aws', 'vars', 'group', 'flag']) expect(redactSecrets(`x unit-canary-${hidden} y`)).toBe('x <redacted> y');
    expect(redactSecrets('unit-shown-dataset unit-shown-flag')).toBe('unit-shown-dataset unit-shown-flag');
  });

  it('in every form pcc prints it: as --json escapes it, as a quoted sh word in a script sent, line by line; values under 4 characters are left', () => {
    const value = `pa"ss'wo\\rd-1\nsecond-line-2`;
    noteSecret(value);
    noteSecret('abc');
    expect(redactSecrets(JSON.stringify({ v: value }))).toBe('{"v":"<redacted>"}');
    const script = renderCommand({ argv: ['tee', '/etc/app.conf'], stdin: `password=${value}\n` });
    expect(redactSecrets(script)).toBe("printf '%s' 'password=<redacted>\n' | tee /etc/app.conf");
    expect(redactSecrets(`+second-line-2\n`)).toBe('+<redacted>\n');
    expect(redactSecrets('abc')).toBe('abc');
    expect(holdsSecret(`x${value}`)).toBe(true);
    expect(holdsSecret('nothing here')).toBe(false);
  });

  it('a diff says that the secret line changes, never its value, nor the former value that line held', () => {
    noteSecret('new-canary-value');
    const before = 'user=app\npassword=old-canary-value\nport=5432\n';
    const after = 'user=app\npassword=new-canary-value\nport=5433\n';
    const diff = redactDiff(createTwoFilesPatch('/etc/app.conf', '/etc/app.conf', before, after, '', '', { context: 3 }));
    expect(diff).not.toMatch(/canary/);
    expect(diff.split('\n').slice(4)).toEqual(['@@ -1,3 +1,3 @@', ' user=app', '-password=<redacted>', '-port=5432', '+password=<redacted>', '+port=5433', '']);
    // A created file: every line added, the header kept.
    const created = redactDiff(createTwoFilesPatch('/dev/null', '/etc/app.conf', '', after, '', '', { context: 3 }));
    expect(created).toContain('--- /dev/null');
    expect(created).toContain('+password=<redacted>\n+port=5433');
  });

  it('a script whose stdin holds a NUL byte carries it base64-encoded: a secret inside is hidden too', () => {
    noteSecret('nul-canary-value');
    const script = renderCommand({ argv: ['tee', '/etc/blob'], stdin: 'a\0password=nul-canary-value\n' });
    expect(script).toContain('| base64 -d');
    expect(redactOutput(script)).toBe("printf '%s' <redacted> | base64 -d | tee /etc/blob");
    const plain = renderCommand({ argv: ['tee', '/etc/blob'], stdin: 'a\0nothing secret\n' });
    expect(redactOutput(plain)).toBe(plain);
  });
});
