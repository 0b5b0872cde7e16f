import { DescribeInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import { applyAutostop } from '../../../src/fleet/autostop.js';
import { pcc } from '../../fixtures/cli.js';
import { useMotoSuite } from '../../fixtures/ec2.js';

/**
 * What an idle EC2 host's `systemctl poweroff` does, set through the
 * provider's shutdown-behaviour capability. moto's instances cannot be
 * reached over SSH, so acquire runs with --no-wait and these tests check the
 * provider call (ModifyInstanceAttribute, read back with
 * DescribeInstanceAttribute), not the agent on the host.
 */
const suite = useMotoSuite('stop');

async function shutdownBehavior(id: string): Promise<string | undefined> {
  const out = await suite.aws.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceInitiatedShutdownBehavior' }));
  return out.InstanceInitiatedShutdownBehavior?.Value;
}

describe('autostop on ec2 (moto; no SSH: --no-wait, provider call only)', () => {
  test('acquire --autostop 30m --no-wait sets the shutdown behaviour to stop and records the setting (no SSH on moto)', async () => {
    const env = { ...suite.moto.env, HOME: suite.t.project.home };
    const r = pcc(['--project', suite.t.project.root, 'acquire', 'ec2', '--no-wait', '--autostop', '30m'], env);
    expect(r.code, r.stderr).toBe(0);
    // The command to run is named as this one was started: pcc on the PATH, with its --project.
    expect(r.stderr).toContain(`cpu1: autostop idle 30m recorded; the agent goes on at pcc --project ${suite.t.project.root} setup ec2`);
    const host = (await suite.t.ctx().state.read()).hosts.cpu1!;
    expect(host.autostop).toEqual({ idleMinutes: 30, down: false });
    expect(await shutdownBehavior(host.providerId!)).toBe('stop');
  });

  test('--down sets it to terminate, and acquire --autostop back to stop (--no-wait; no SSH on moto: the agent is not installed)', async () => {
    const env = { ...suite.moto.env, HOME: suite.t.project.home };
    expect(pcc(['--project', suite.t.project.root, 'acquire', 'ec2', '--no-wait'], env).code).toBe(0);
    const ctx = suite.t.ctx({ env: suite.moto.env });
    const host = (await ctx.state.read()).hosts.cpu1!;
    await applyAutostop([host], { idleMinutes: 60, down: true, leaseMinutes: 720 }, ctx, { install: false });
    expect(await shutdownBehavior(host.providerId!)).toBe('terminate');
    expect((await ctx.state.read()).hosts.cpu1!.autostop).toEqual({ idleMinutes: 60, down: true, leaseMinutes: 720 });
    // stop is EC2's default, so this is what shows that acquire --autostop makes the call (on the host already running).
    const again = pcc(['--project', suite.t.project.root, 'acquire', 'ec2', '--no-wait', '--autostop', '60m'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await shutdownBehavior(host.providerId!)).toBe('stop');
    // --dry changes neither the record nor the instance.
    await applyAutostop([host], { idleMinutes: 5, down: true }, suite.t.ctx({ env: suite.moto.env, dry: true }), { install: false });
    expect(await shutdownBehavior(host.providerId!)).toBe('stop');
    expect((await ctx.state.read()).hosts.cpu1!.autostop).toEqual({ idleMinutes: 60, down: false });
  });
});
