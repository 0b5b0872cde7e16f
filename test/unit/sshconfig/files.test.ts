import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject, type Project } from '../../../src/core/project.js';
import {
  checkHostKey,
  knownHostsFile,
  providerConfigFile,
  recordHostKey,
  removeProviderAliases,
  sshAliasFor,
  sshConfigDir,
  writeProviderAliases,
} from '../../../src/sshconfig/index.js';
import { host, snapshot, sshG, tempProject } from '../../fixtures/sshconfig.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILu7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7';

let project: Project;
let dispose: () => void;
beforeEach(() => ({ project, dispose } = tempProject()));
afterEach(() => dispose());

const userConfig = () => path.join(project.sshDir, 'config');

describe('the user ~/.ssh/config', () => {
  it('is created 0600 in a 0700 ~/.ssh when missing, and both go again with the last provider', async () => {
    expect(snapshot(project.home)).toEqual({});
    await writeProviderAliases(project, 'local', [host('local1')]);
    expect(readFileSync(userConfig(), 'utf8')).toBe(`Include ${sshConfigDir(project)}/*.conf\n`);
    expect(statSync(userConfig()).mode & 0o777).toBe(0o600);
    expect(statSync(project.sshDir).mode & 0o777).toBe(0o700);
    expect(sshG(project, 'cpu-local1').get('hostname')).toEqual(['127.31.0.1']);

    await removeProviderAliases(project, 'local');
    expect(snapshot(project.home)).toEqual({});
  });

  it('keeps its mode, and a symlink stays a symlink with the line added to its target', async () => {
    const dotfiles = path.join(project.home, 'dotfiles');
    mkdirSync(dotfiles);
    mkdirSync(project.sshDir, { mode: 0o700 });
    writeFileSync(path.join(dotfiles, 'ssh_config'), 'Host x\n  User y\n', { mode: 0o644 });
    chmodSync(path.join(dotfiles, 'ssh_config'), 0o644);
    symlinkSync('../dotfiles/ssh_config', userConfig());
    const before = snapshot(project.home);

    await writeProviderAliases(project, 'local', [host('local1')]);
    expect(lstatSync(userConfig()).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dotfiles, 'ssh_config'), 'utf8')).toBe(`Include ${sshConfigDir(project)}/*.conf\nHost x\n  User y\n`);
    expect(statSync(path.join(dotfiles, 'ssh_config')).mode & 0o777).toBe(0o644);

    await removeProviderAliases(project, 'local');
    expect(snapshot(project.home)).toEqual(before);
  });

  it('keeps the Include while another provider has aliases, and keeps a line the user moved', async () => {
    mkdirSync(project.sshDir, { mode: 0o700 });
    writeFileSync(userConfig(), 'Host x\n', { mode: 0o600 });
    await writeProviderAliases(project, 'local', [host('local1')]);
    await writeProviderAliases(project, 'static', [host('box', { provider: 'static', groups: [] })]);
    await removeProviderAliases(project, 'local');
    expect(readFileSync(userConfig(), 'utf8')).toContain('Include');
    expect(sshG(project, 'static-box').get('hostname')).toEqual(['127.31.0.1']);

    // The user moved pcc's line below their own: pcc no longer owns that edit and leaves it.
    const moved = `Host x\nInclude ${sshConfigDir(project)}/*.conf\n`;
    writeFileSync(userConfig(), moved);
    await removeProviderAliases(project, 'static');
    expect(readFileSync(userConfig(), 'utf8')).toBe(moved);
  });

  it('a relative Include is read from ~/.ssh, not from the folder of the -F file: so pcc writes an absolute one', () => {
    // What OpenSSH does with `Include rel.conf` when -F names a file elsewhere.
    const dir = mkdtempSync(path.join(tmpdir(), 'pcc-include-'));
    try {
      const home = path.join(dir, 'home');
      const other = path.join(dir, 'other');
      mkdirSync(path.join(home, '.ssh'), { recursive: true });
      mkdirSync(other);
      writeFileSync(path.join(other, 'config'), 'Include pcc-probe.conf\n');
      writeFileSync(path.join(other, 'pcc-probe.conf'), 'Host probe\n  Port 1111\n');
      writeFileSync(path.join(home, '.ssh', 'pcc-probe.conf'), 'Host probe\n  Port 2222\n');
      const r = spawnSync('ssh', ['-G', '-F', path.join(other, 'config'), 'probe'], {
        encoding: 'utf8',
        env: { ...process.env, HOME: home },
      });
      const port = /^port (\d+)$/m.exec(r.stdout)?.[1];
      expect(port).not.toBe('1111');
      // Debian 12's ssh (9.2p1) takes ~ from $HOME (2222); upstream takes the passwd home (22 here).
      expect(['2222', '22']).toContain(port);
      if (port === '22') expect(userInfo().homedir).not.toBe(home);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('works for a home whose path has a space and a %', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pcc-odd-'));
    try {
      const odd = openProject({ project: path.join(dir, 'p'), home: path.join(dir, 'my home 100%') });
      await writeProviderAliases(odd, 'local', [host('local1')]);
      expect(readFileSync(path.join(odd.sshDir, 'config'), 'utf8')).toBe(`Include "${sshConfigDir(odd)}/*.conf"\n`);
      const g = sshG(odd, 'cpu-local1');
      expect(g.get('hostname')).toEqual(['127.31.0.1']);
      // -G expands tokens in UserKnownHostsFile but shows IdentityFile before expansion, where `%%` is a `%`.
      expect(g.get('userknownhostsfile')).toEqual([knownHostsFile(odd)]);
      expect(g.get('identityfile')).toEqual([path.join(odd.home, '.ssh/pcc_ed25519').replaceAll('%', '%%')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('provider files', () => {
  it('leave out an alias the user defines, report it, and ssh then uses the user entry', async () => {
    mkdirSync(project.sshDir, { mode: 0o700 });
    writeFileSync(userConfig(), 'Host local1\n  HostName 192.0.2.51\n  User alice\n', { mode: 0o600 });
    const written = await writeProviderAliases(project, 'local', [host('local1')]);
    expect(written.clashes).toEqual(['local1']);
    expect(written.aliases).toEqual(['local-local1', 'cpu-local1']);
    expect(sshG(project, 'local1').get('hostname')).toEqual(['192.0.2.51']);
    expect(sshG(project, 'local1').get('user')).toEqual(['alice']);
    const ours = sshG(project, 'cpu-local1');
    expect(ours.get('hostname')).toEqual(['127.31.0.1']);
    expect(ours.get('hostkeyalias')).toEqual(['local1']);
  });

  it('an alias two providers want goes to the same host whichever writes first, and is reported', async () => {
    const gpu1 = host('gpu1', { provider: 'ec2', groups: ['gpu'], address: '127.31.0.5' });
    const named = host('gpu-gpu1', { provider: 'static', groups: [], address: '127.31.0.6' });
    const outcomes: string[] = [];
    for (const order of [
      [gpu1, named],
      [named, gpu1],
    ]) {
      const t = tempProject();
      try {
        const results = [];
        for (const h of order) results.push(await writeProviderAliases(t.project, h.provider, [h]));
        expect(results.flatMap((r) => r.warnings).join('\n')).toContain('ssh alias gpu-gpu1 of ec2 host gpu1');
        expect(sshG(t.project, 'gpu-gpu1').get('hostname')).toEqual(['127.31.0.6']);
        expect(sshG(t.project, 'ec2-gpu1').get('hostname')).toEqual(['127.31.0.5']);
        outcomes.push(
          (['ec2', 'static'] as const).map((p) => readFileSync(providerConfigFile(t.project, p), 'utf8')).join('\n'),
        );
      } finally {
        t.dispose();
      }
    }
    const same = (text: string) => text.replaceAll(/\/tmp\/pcc-sshconfig-\w+/g, '').replaceAll(/proj-[0-9a-f]{12}/g, 'proj-ID');
    expect(same(outcomes[0]!)).toBe(same(outcomes[1]!));
  });

  it('records the keys providers report, replaces one a provider changed, and forgets hosts that left', async () => {
    const withKey = (name: string, key: string) => host(name, { hostKey: key });
    const first = await writeProviderAliases(project, 'local', [withKey('local1', KEY_A), withKey('local2', KEY_A)]);
    expect(first.warnings).toEqual([]);
    const [type, a] = KEY_A.split(' ') as [string, string];
    expect(await checkHostKey(project, 'local1', type, a)).toBe('known');

    const second = await writeProviderAliases(project, 'local', [withKey('local1', KEY_B)]);
    expect(second.warnings).toEqual([`host key of local1 replaced in pcc's known_hosts by the one the local provider reported`]);
    expect(await checkHostKey(project, 'local1', type, KEY_B.split(' ')[1]!)).toBe('known');
    expect(await checkHostKey(project, 'local2', type, a)).toBe('new');
    expect(second.aliases).toEqual(['local1', 'local-local1', 'cpu-local1']);

    // A key learnt on first connection is forgotten with the provider's file.
    await recordHostKey(project, 'local1', KEY_B);
    await removeProviderAliases(project, 'local');
    expect(await checkHostKey(project, 'local1', type, KEY_B.split(' ')[1]!)).toBe('new');
    expect(snapshot(project.home)).toEqual({});
  });
});

describe('two projects in one home', () => {
  it('keep both sets of aliases and keys: a name both want stays with the first, the second gets <alias>.<project> and a line', async () => {
    // Two folders of one name (…/a/exp and …/b/exp) in the same home: two projects, told apart by their ids.
    const a = openProject({ project: path.join(project.home, '..', 'a', 'exp'), home: project.home });
    const b = openProject({ project: path.join(project.home, '..', 'b', 'exp'), home: project.home });
    expect(a.id).not.toBe(b.id);
    const withKey = (name: string, address: string, key: string) => host(name, { address, hostKey: key });

    const first = await writeProviderAliases(a, 'local', [withKey('init', '127.31.1.1', KEY_A), withKey('local1', '127.31.1.2', KEY_A)]);
    expect(first.warnings).toEqual([]);
    const second = await writeProviderAliases(b, 'local', [withKey('init', '127.31.2.1', KEY_B), withKey('local3', '127.31.2.3', KEY_B)]);
    expect(second.warnings).toContain(`ssh alias init belongs to the project in ${a.root}; this project's local host init is ssh init.exp`);
    expect(await sshAliasFor(b, 'init')).toBe('init.exp');
    expect(await sshAliasFor(b, 'local3', 'cpu-local3')).toBe('cpu-local3');
    expect(await sshAliasFor(a, 'init')).toBe('init');

    // The real ssh: the first project's names are untouched, the second's are there under their own or qualified names.
    expect(sshG(a, 'init').get('hostname')).toEqual(['127.31.1.1']);
    expect(sshG(a, 'local1').get('hostname')).toEqual(['127.31.1.2']);
    expect(sshG(b, 'init.exp').get('hostname')).toEqual(['127.31.2.1']);
    expect(sshG(b, 'local3').get('hostname')).toEqual(['127.31.2.3']);
    // Each project's keys live in its own known_hosts, so the two `init`s never look like a changed key.
    expect(sshG(a, 'init').get('userknownhostsfile')).toEqual([knownHostsFile(a)]);
    expect(sshG(b, 'init.exp').get('userknownhostsfile')).toEqual([knownHostsFile(b)]);
    expect(await checkHostKey(a, 'init', 'ssh-ed25519', KEY_A.split(' ')[1]!)).toBe('known');
    expect(await checkHostKey(b, 'init', 'ssh-ed25519', KEY_B.split(' ')[1]!)).toBe('known');

    // Removing the second project's aliases leaves the first's; the Include goes with the last of them.
    await removeProviderAliases(b, 'local');
    expect(existsSync(knownHostsFile(b))).toBe(false);
    expect(sshG(a, 'init').get('hostname')).toEqual(['127.31.1.1']);
    expect(readFileSync(userConfig(), 'utf8')).toBe(`Include ${sshConfigDir(project)}/*.conf\n`);
    await removeProviderAliases(a, 'local');
    expect(snapshot(project.home)).toEqual({});
  });
});
