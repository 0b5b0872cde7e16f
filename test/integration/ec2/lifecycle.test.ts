import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DescribeInstancesCommand, DescribeKeyPairsCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import { openProject } from '../../../src/core/project.js';
import { acquire, acquireOn, destroy, releaseOn, resumeOn, saveOn } from '../../../src/fleet/lifecycle.js';
import { providerConfigFile } from '../../../src/sshconfig/paths.js';
import { StateStore } from '../../../src/state/store.js';
import { pcc } from '../../fixtures/cli.js';
import { countingProvider, liveInstanceIds, makeProject, useMotoSuite } from '../../fixtures/ec2.js';

/** The lifecycle regressions of issue 13 on moto (--no-wait: moto's instances cannot be reached over SSH). */
const suite = useMotoSuite('life');

const liveIds = (id: string) => liveInstanceIds(suite.aws, id);

describe('ec2 lifecycle on moto', () => {
  test('two projects with the same folder name in different parents: destroy in one leaves the other untouched', async () => {
    // makeProject puts each in its own temp parent; both folders are named `exp`.
    const a = makeProject('exp');
    const b = makeProject('exp');
    try {
      const { provider } = countingProvider();
      expect(a.project.name).toBe(b.project.name);
      expect(a.project.id).not.toBe(b.project.id);
      await acquireOn(provider, { type: 'cpu', count: 2, wait: false }, a.ctx());
      // b's acquire must not adopt a's instances.
      const bHosts = (await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, b.ctx())).hosts;
      expect(bHosts).toHaveLength(1);
      expect(await liveIds(a.project.id)).toHaveLength(2);
      const bIds = await liveIds(b.project.id);
      expect(bIds).toEqual(bHosts.map((h) => h.providerId));

      await provider.destroy(a.ctx());
      expect(await liveIds(a.project.id)).toEqual([]);
      expect(await liveIds(b.project.id)).toEqual(bIds);
      const groups = await suite.aws.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:pcc:project-id', Values: [b.project.id] }] }));
      expect(groups.SecurityGroups).toHaveLength(1);
      await provider.destroy(b.ctx());
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });

  test('resume starts what was saved and never launches; --count keeps other specs alone', async () => {
    const { provider, calls } = countingProvider();
    await acquireOn(provider, { type: 'gpu', count: 2, wait: false }, suite.t.ctx());
    await saveOn(provider, {}, suite.t.ctx());
    calls.length = 0;
    const resumed = await resumeOn(provider, suite.t.ctx());
    expect(resumed.plan).toEqual([{ op: 'start', hosts: ['gpu1', 'gpu2'] }]);
    expect(calls).not.toContain('RunInstances');
    // Nothing saved now: resume plans nothing and launches nothing.
    expect((await resumeOn(provider, suite.t.ctx())).plan).toEqual([]);
    // A cpu acquire creates one cpu host and leaves the gpu ones as they are.
    const cpu = await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    expect(cpu.plan.map((s) => s.op)).toEqual(['create']);
    expect(await liveIds(suite.t.project.id)).toHaveLength(3);
    await provider.destroy(suite.t.ctx());
  });

  test('release one of three: the other two and the shared resources stay', async () => {
    const { provider } = countingProvider();
    const hosts = (await acquireOn(provider, { type: 'cpu', count: 3, wait: false }, suite.t.ctx())).hosts;
    expect(hosts.map((h) => h.name).sort()).toEqual(['cpu1', 'cpu2', 'cpu3']);
    const r = await releaseOn(provider, ['cpu2'], suite.t.ctx());
    expect(r.plan).toEqual([{ op: 'terminate', hosts: ['cpu2'] }]);
    const left = await liveIds(suite.t.project.id);
    expect(left).toEqual(hosts.filter((h) => h.name !== 'cpu2').map((h) => h.providerId!).sort());
    expect(Object.keys((await suite.t.ctx().state.read()).hosts).sort()).toEqual(['cpu1', 'cpu3']);
    // --count 3 again creates exactly the one that is missing.
    const again = await acquireOn(provider, { type: 'cpu', count: 3, wait: false }, suite.t.ctx());
    expect(again.plan).toMatchObject([{ op: 'create', count: 1 }]);
    await provider.destroy(suite.t.ctx());
  });

  test('adopt after rm -rf .pcc: the projects are listed by tag, and adopting one rebuilds its hosts', async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 2, wait: false }, suite.t.ctx());
    const id = suite.t.project.id;
    rmSync(suite.t.project.stateDir, { recursive: true, force: true });

    const fresh = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    const ctx = { ...suite.t.ctx(), project: fresh, state: new StateStore(fresh) };
    const found = await provider.discover!(ctx);
    expect(found.find((p) => p.id === id)).toMatchObject({ name: suite.t.project.name, path: suite.t.project.root, hosts: 2 });

    const { adoptProject } = await import('../../../src/fleet/adopt.js');
    const adopted = await adoptProject('ec2', id, { ...ctx, settings: suite.t.ctx().settings });
    expect(adopted.hosts.map((h) => h.name).sort()).toEqual(['cpu1', 'cpu2']);
    // The launch key (PCC_SSH_KEY) is found by its fingerprint: no new key is made.
    expect(adopted.missingKeys).toEqual([]);
    expect(adopted.hosts.map((h) => h.key)).toEqual(['~/.ssh/id_ed25519', '~/.ssh/id_ed25519']);
    expect(existsSync(path.join(suite.t.project.stateDir, 'ssh'))).toBe(false);
    const again = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    expect(again.id).toBe(id);
    await provider.destroy({ ...ctx, project: again, state: new StateStore(again) });
    expect(await liveIds(id)).toEqual([]);
  });

  test('item 4: pcc adopt of an id nothing carries is refused in one line (exit 1), and nothing is written: no .pcc/project-id', async () => {
    // Another project holds an instance, so the lookup finds projects, just not this id.
    const other = makeProject('other');
    try {
      await acquire('ec2', { type: 'cpu', count: 1, wait: false }, other.ctx());
      const env = { ...suite.moto.env, HOME: suite.t.project.home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
      const r = pcc(['adopt', '0123456789ab', '--project', suite.t.project.root], env);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toBe('pcc: nothing on ec2 carries project id 0123456789ab; pcc adopt without an id lists the projects found there\n');
      expect(r.stdout).toBe('');
      expect(existsSync(path.join(suite.t.project.root, '.pcc'))).toBe(false);
      // The id of a project that does exist is still adopted (its launch key copied here, as a user moving machines would).
      for (const f of ['id_ed25519', 'id_ed25519.pub']) copyFileSync(path.join(other.project.home, '.ssh', f), path.join(suite.t.project.home, '.ssh', f.replace('ed25519', 'other')));
      const ok = pcc(['adopt', other.project.id, '--project', suite.t.project.root], env);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`^adopted project ${other.project.id}: cpu1$`, 'm'));
      await destroy('ec2', other.ctx());
    } finally {
      other.cleanup();
    }
  });

  test('item 7: pcc adopt finds the launch key by its EC2 fingerprint among ~/.ssh/id_*, and makes no new key', { timeout: 300_000 }, async () => {
    await acquire('ec2', { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    const id = suite.t.project.id;
    rmSync(suite.t.project.stateDir, { recursive: true, force: true });
    // The launch key now lives under another name, and PCC_SSH_KEY names a key that is not there.
    const ssh = path.join(suite.t.project.home, '.ssh');
    renameSync(path.join(ssh, 'id_ed25519'), path.join(ssh, 'id_launch'));
    renameSync(path.join(ssh, 'id_ed25519.pub'), path.join(ssh, 'id_launch.pub'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'other', '-f', path.join(ssh, 'id_other')]);
    const env = { ...suite.moto.env, HOME: suite.t.project.home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const r = pcc(['adopt', id, '--project', suite.t.project.root], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const again = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    expect((await new StateStore(again).read()).hosts.cpu1?.key).toBe('~/.ssh/id_launch');
    expect(existsSync(path.join(again.stateDir, 'ssh'))).toBe(false);
    await destroy('ec2', { ...suite.t.ctx(), project: again, state: new StateStore(again) });
  });

  test('item 7: pcc adopt without the launch key says which key and the way in, in one line, exit 4; the records are still rebuilt', { timeout: 300_000 }, async () => {
    await acquire('ec2', { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    const id = suite.t.project.id;
    const keyName = (await suite.aws.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:pcc:project-id', Values: [id] }] }))).Reservations![0]!.Instances![0]!.KeyName!;
    const fingerprint = (await suite.aws.send(new DescribeKeyPairsCommand({ KeyNames: [keyName] }))).KeyPairs![0]!.KeyFingerprint!;
    rmSync(suite.t.project.stateDir, { recursive: true, force: true });
    // The launch key is gone from this machine; another key stands at PCC_SSH_KEY.
    const ssh = path.join(suite.t.project.home, '.ssh');
    rmSync(path.join(ssh, 'id_ed25519'));
    rmSync(path.join(ssh, 'id_ed25519.pub'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'other', '-f', path.join(ssh, 'id_ed25519')]);
    const env = { ...suite.moto.env, HOME: suite.t.project.home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const r = pcc(['adopt', id, '--project', suite.t.project.root], env);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toBe(
      `pcc: cpu1 was launched with key pair ${keyName} (fingerprint ${fingerprint}), which is not on this machine ` +
        '(PCC_SSH_KEY, .pcc/ssh/id_ed25519 and ~/.ssh/id_* were tried): copy that private key and its .pub to ~/.ssh/id_ed25519 (PCC_SSH_KEY), ' +
        'or push a new public key to the hosts with EC2 Instance Connect or SSM\n',
    );
    expect(r.stdout).toMatch(new RegExp(`^adopted project ${id}: cpu1$`, 'm'));
    const again = openProject({ project: suite.t.project.root, home: suite.t.project.home });
    expect(again.id).toBe(id);
    expect((await new StateStore(again).read()).hosts.cpu1?.key).toBe('~/.ssh/id_ed25519');
    expect(existsSync(path.join(again.stateDir, 'ssh'))).toBe(false);
    await destroy('ec2', { ...suite.t.ctx(), project: again, state: new StateStore(again) });
  });

  test('a destroy killed after the hosts went but before the aliases: the re-run takes the aliases back', { timeout: 300_000 }, async () => {
    const ctx = suite.t.ctx();
    await acquire('ec2', { type: 'cpu', count: 1, wait: false }, ctx);
    expect(existsSync(providerConfigFile(ctx.project, 'ec2'))).toBe(true);
    const { ec2Provider } = await import('../../../src/providers/ec2/index.js');
    // What the kill leaves: everything swept and the state written, the aliases not yet rewritten.
    await ec2Provider.destroy(ctx);
    expect(Object.keys((await ctx.state.read()).hosts)).toEqual([]);
    const env = { ...suite.moto.env, HOME: suite.t.project.home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const again = pcc(['destroy', 'ec2', '--yes', '--project', suite.t.project.root], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^removed ssh aliases of cpu1 \(its host was gone already\)$/m);
    expect(existsSync(providerConfigFile(ctx.project, 'ec2'))).toBe(false);
    expect(readdirSync(path.join(suite.t.project.home, '.ssh')).sort()).toEqual(['id_ed25519', 'id_ed25519.pub']);
  });

  test('destroy without --yes on a non-TTY exits non-zero and removes nothing; --dry lists only', { timeout: 300_000 }, async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    const before = await liveIds(suite.t.project.id);
    const env = { ...suite.moto.env, HOME: suite.t.project.home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const refused = pcc(['destroy', 'ec2', '--project', suite.t.project.root], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/instance i-/);
    expect(refused.stderr).toMatch(/pass --yes/);
    expect(await liveIds(suite.t.project.id)).toEqual(before);
    const dry = pcc(['destroy', 'ec2', '--dry', '--project', suite.t.project.root], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would remove instance i-/);
    expect(await liveIds(suite.t.project.id)).toEqual(before);
    const yes = pcc(['destroy', 'ec2', '--yes', '--project', suite.t.project.root], env);
    expect(yes.code, yes.stderr).toBe(0);
    expect(await liveIds(suite.t.project.id)).toEqual([]);
    expect(path.isAbsolute(suite.t.project.root)).toBe(true);
  });
});
