import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asInvoked, hintCommand, programWords, sshWords } from '../../../src/cli/hints.js';

/** Issue 30, items 6, 12 and 13: the hints pcc prints paste into a shell as they are. */

let dir: string;
let checkout: string;
let script: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pcc-hints-'));
  checkout = path.join(dir, 'my checkout');
  script = path.join(checkout, 'bin/pcc.js');
  mkdirSync(path.dirname(script), { recursive: true });
  writeFileSync(script, '#!/usr/bin/env node\n');
  chmodSync(script, 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PATH folder holding `pcc` as a link to `target` (what npm link and npm i -g make). */
function pathWithPcc(name: string, target: string): string {
  const bin = path.join(dir, name);
  mkdirSync(bin, { recursive: true });
  symlinkSync(target, path.join(bin, 'pcc'));
  return bin;
}

describe('hints name pcc as it was started (item 13)', () => {
  it('node bin/pcc.js in the checkout, with no pcc on the PATH: hints say node bin/pcc.js', () => {
    expect(programWords({ script, cwd: checkout, env: { PATH: '/usr/bin:/bin' } })).toBe('node bin/pcc.js');
  });

  it('from another folder: the absolute path, quoted where it has a space', () => {
    expect(programWords({ script, cwd: dir, env: { PATH: '/usr/bin' } })).toBe("node 'my checkout/bin/pcc.js'");
    expect(programWords({ script, cwd: path.join(dir, 'elsewhere'), env: { PATH: '/usr/bin' } })).toBe(`node '${script}'`);
    expect(programWords({ script: 'bin/pcc.js', cwd: checkout, env: {} })).toBe('node bin/pcc.js');
  });

  it('after npm link or npm i -g (the first pcc on the PATH is this script): pcc', () => {
    const linked = pathWithPcc('linked', script);
    expect(programWords({ script, cwd: '/', env: { PATH: `/nonexistent:${linked}:/usr/bin` } })).toBe('pcc');
    // Started through that link, too (the shell runs the link; node is told its path).
    expect(programWords({ script: path.join(linked, 'pcc'), cwd: '/', env: { PATH: linked } })).toBe('pcc');
  });

  it('another pcc first on the PATH (an older install) is not this one: the node form', () => {
    const other = path.join(dir, 'other.js');
    writeFileSync(other, '');
    chmodSync(other, 0o755);
    const elsewhere = pathWithPcc('elsewhere', other);
    expect(programWords({ script, cwd: checkout, env: { PATH: elsewhere } })).toBe('node bin/pcc.js');
  });

  it('under npx (npm exec puts the bin on a PATH of its own): npx pcc', () => {
    const npxBin = path.join(dir, 'project/node_modules/.bin/pcc');
    expect(programWords({ script: npxBin, cwd: dir, env: { npm_command: 'exec', PATH: path.dirname(npxBin) } })).toBe('npx pcc');
    // A checkout's pcc started by something npx ran (npx vitest) inherits npm_command: not npx.
    expect(programWords({ script, cwd: checkout, env: { npm_command: 'exec', PATH: '' } })).toBe('node bin/pcc.js');
  });

  it('error messages: pcc followed by a command is a hint and follows the program; other prose stays', () => {
    const names = ['init', 'setup', 'hosts'];
    expect(asInvoked('no controller yet; run pcc init first (see pcc hosts)', 'node bin/pcc.js', names)).toBe(
      'no controller yet; run node bin/pcc.js init first (see node bin/pcc.js hosts)',
    );
    expect(asInvoked("pcc cannot read it; 'pcc setup local' again", 'npx pcc', names)).toBe("pcc cannot read it; 'npx pcc setup local' again");
    expect(asInvoked('run pcc init first', 'pcc', names)).toBe('run pcc init first');
    expect(asInvoked('pcc-inventory and pcc initial', 'node x', names)).toBe('pcc-inventory and pcc initial');
  });
});

describe('a value in a hint is one shell word (item 6)', () => {
  const pcc = hintCommand('pcc');
  it('patterns bash would expand are single-quoted; plain ones, and the -term exclusion, are left as they are', () => {
    expect(pcc`run playbooks/site.ts ${'all:!init'}`).toBe("pcc run playbooks/site.ts 'all:!init'");
    expect(pcc`setup ${'ec2:&gpu'}`).toBe("pcc setup 'ec2:&gpu'");
    expect(pcc`exec ${'ec2-*'} -- uptime`).toBe("pcc exec 'ec2-*' -- uptime");
    expect(pcc`exec ${"it's"} -- uptime`).toBe("pcc exec 'it'\\''s' -- uptime");
    expect(pcc`setup ${'all:-init'}`).toBe('pcc setup all:-init');
    expect(pcc`acquire local --volume ${'data:/data'}`).toBe('pcc acquire local --volume data:/data');
  });
  it('--project given to pcc is given in its hints too', () => {
    expect(hintCommand('node bin/pcc.js', '../my project')`setup ${'local'}`).toBe("node bin/pcc.js --project '../my project' setup local");
  });
});

describe('ssh hints work where $HOME is not the account home (item 12)', () => {
  it('the same home: ssh ALIAS', () => {
    expect(sshWords('cpu-local1', '/root', '/root')).toBe('ssh cpu-local1');
    expect(sshWords('cpu-local1', '/root/', '/root')).toBe('ssh cpu-local1');
  });
  it('another $HOME: OpenSSH reads the passwd home config, so the one pcc wrote is named with -F', () => {
    expect(sshWords('cpu-local1', '/tmp/h', '/root')).toBe('ssh -F /tmp/h/.ssh/config cpu-local1');
    expect(sshWords('init', '/tmp/my home', '/root')).toBe("ssh -F '/tmp/my home/.ssh/config' init");
  });
  it('no passwd entry to compare with: the plain form', () => {
    expect(sshWords('init', '/tmp/h', undefined)).toBe('ssh init');
  });
});
