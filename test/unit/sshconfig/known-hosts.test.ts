import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PccError } from '../../../src/core/errors.js';
import type { Project } from '../../../src/core/project.js';
import {
  checkHostKey,
  forgetHost,
  hostKeyStore,
  knownHostsFile,
  recordHostKey,
} from '../../../src/sshconfig/index.js';
import { parseKeyLine, verdictFor, withKey, withoutHost } from '../../../src/sshconfig/known-hosts.js';
import { keygen, tempProject } from '../../fixtures/sshconfig.js';

const A = { type: 'ssh-ed25519', key: 'AAAAC3NzaC1lZDI1NTE5AAAAIAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' };
const B = { type: 'ssh-ed25519', key: 'AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' };
const R = { type: 'ssh-rsa', key: 'AAAAB3NzaC1yc2EAAAADAQABAAABAQCrrrrrrrrrrrrrrrr' };

describe('known_hosts text', () => {
  it('says new, known or changed; a key of another type than the known ones is changed', () => {
    const text = withKey('', 'local1', A);
    expect(text).toBe(`local1 ${A.type} ${A.key}\n`);
    expect(verdictFor(text, 'local1', A)).toBe('known');
    expect(verdictFor(text, 'local1', B)).toBe('changed');
    expect(verdictFor(text, 'local1', R)).toBe('changed');
    expect(verdictFor(text, 'local2', A)).toBe('new');
    expect(verdictFor(`@revoked local1 ${A.type} ${A.key}\n${text}`, 'local1', A)).toBe('changed');
  });

  it('drops one host and keeps every other line as it was', () => {
    const text = `# kept comment\nlocal1 ${A.type} ${A.key}\nlocal1,other ${B.type} ${B.key}\nlocal10 ${A.type} ${A.key}\n`;
    expect(withoutHost(text, 'local1')).toBe(`# kept comment\nother ${B.type} ${B.key}\nlocal10 ${A.type} ${A.key}\n`);
  });

  it('refuses a key line that is not one', () => {
    expect(() => parseKeyLine('not a key', 'x')).toThrow(PccError);
    expect(parseKeyLine(`${A.type} ${A.key} root@local1`, 'x')).toEqual(A);
  });
});

describe('pcc known_hosts file', () => {
  let project: Project;
  let dispose: () => void;
  beforeEach(() => ({ project, dispose } = tempProject()));
  afterEach(() => dispose());

  it('trusts on first use and refuses a changed key, naming the ssh-keygen command that clears it', async () => {
    expect(await recordHostKey(project, 'local1', `${A.type} ${A.key}`)).toBe('new');
    expect(await recordHostKey(project, 'local1', `${A.type} ${A.key} comment`)).toBe('known');
    expect(await checkHostKey(project, 'local1', B.type, B.key)).toBe('changed');
    const err = await recordHostKey(project, 'local1', `${B.type} ${B.key}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PccError);
    const message = (err as Error).message;
    expect(message).toContain('the host key of local1 changed');
    const command = /ssh-keygen -R \S+ -f \S+/.exec(message)![0];
    expect(command).toBe(`ssh-keygen -R local1 -f ${knownHostsFile(project)}`);

    // The advice works with the real ssh-keygen, after which the new key is trusted.
    execFileSync('sh', ['-c', command], { stdio: 'ignore' });
    expect(await checkHostKey(project, 'local1', B.type, B.key)).toBe('new');
    expect(await recordHostKey(project, 'local1', `${B.type} ${B.key}`)).toBe('new');
  });

  it('reads names that ssh-keygen -H hashed, and forgets them', async () => {
    const key = keygen(project.root.replace(/proj$/, ''), 'hk');
    await recordHostKey(project, 'local1', key.line);
    await recordHostKey(project, 'local2', `${A.type} ${A.key}`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', knownHostsFile(project)], { stdio: 'ignore' });
    expect(readFileSync(knownHostsFile(project), 'utf8')).not.toContain('local1');
    const [type, b64] = key.line.split(' ') as [string, string];
    expect(await checkHostKey(project, 'local1', type, b64)).toBe('known');
    expect(await forgetHost(project, 'local1')).toBe(true);
    expect(await checkHostKey(project, 'local1', type, b64)).toBe('new');
    expect(await checkHostKey(project, 'local2', A.type, A.key)).toBe('known');
  });

  it('gives the SSH layer a synchronous check and a remember that survives parallel hosts', async () => {
    const store = await hostKeyStore(project);
    expect(store.check('local1', A.type, A.key)).toBe('new');
    const names = Array.from({ length: 12 }, (_, i) => `local${i + 1}`);
    await Promise.all(names.map((n) => store.remember(n, A.type, A.key)));
    expect(store.check('local1', A.type, A.key)).toBe('known');
    expect(store.check('local1', B.type, B.key)).toBe('changed');
    const fresh = await hostKeyStore(project);
    for (const n of names) expect(fresh.check(n, A.type, A.key)).toBe('known');

    // Another process recorded a different key meanwhile: remember refuses it.
    writeFileSync(knownHostsFile(project), `other ${B.type} ${B.key}\n`);
    expect(store.check('other', A.type, A.key)).toBe('new');
    await expect(store.remember('other', A.type, A.key)).rejects.toThrow(/host key of other changed/);
  });

  it('forgetting the last host removes the file', async () => {
    await recordHostKey(project, 'local1', `${A.type} ${A.key}`);
    await forgetHost(project, 'local1');
    expect(existsSync(knownHostsFile(project))).toBe(false);
    expect(await forgetHost(project, 'local1')).toBe(false);
  });
});
