import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Project } from '../../../src/core/project.js';
import { acquire, destroy, save } from '../../../src/fleet/lifecycle.js';
import type { ProviderContext } from '../../../src/providers/types.js';
import { providerConfigFile } from '../../../src/sshconfig/paths.js';
import { StateStore } from '../../../src/state/store.js';
import { readLocal } from '../../../src/providers/local/bookkeeping.js';
import { machineCgroupDirs } from '../../../src/providers/local/cgroups.js';
import { localProvider } from '../../../src/providers/local/index.js';
import { findMachineProcesses, isMachineProcess } from '../../../src/providers/local/machine.js';
import { bridgeName, cloudBridgeName, netnsName, routerName, routerVeths } from '../../../src/providers/local/network.js';
import { pccAsync } from '../../fixtures/cli.js';
import { describePoint, runAndKill, type KillPoint } from '../../fixtures/kill.js';
import { claimTestSubnet, localContext, TEST_BASE_CACHE } from '../../fixtures/local-hosts.js';
import { seedImages, startMoto, type MotoServer } from '../../fixtures/moto.js';
import { DLAMI_PARAMETER, makeProject, motoClient, REGION, TEST_CIDR, useMotoEnv, type TestProject } from '../../fixtures/ec2.js';
import { linkList, mountPoints, netnsList } from '../../fixtures/local-machine.js';

/**
 * Issue 13, item 7 (interrupted runs): `kill -9` of the real CLI at many
 * points of acquire, save, resume, release and destroy. After each kill the
 * state file must parse, the same command run again must exit 0 and end
 * where an uninterrupted run ends, and after a final `pcc destroy ... --yes`
 * nothing of the project may be left. The file ends by printing one table
 * row per kill point.
 */

interface Row {
  provider: string;
  command: string;
  point: string;
  killed: boolean;
  parses: boolean;
  converged: boolean;
  leaks: number;
  notes: string[];
}
const rows: Row[] = [];

afterAll(() => {
  if (rows.length === 0) return;
  const head = ['provider', 'command', 'kill point', 'state parses', 'next run converged', 'leaks'];
  const body = rows.map((r) => [
    r.provider,
    r.command,
    r.killed ? r.point : `${r.point} (NOT REACHED)`,
    r.parses ? 'yes' : 'NO',
    r.converged ? 'yes' : 'NO',
    String(r.leaks),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  const bad = rows.filter((r) => !r.killed || !r.parses || !r.converged || r.leaks > 0);
  for (const r of bad) out.push(`  ${r.provider} ${r.command} ${r.point}: ${r.notes.join('; ')}`);
  out.push(`kill points: ${rows.length}, killed there: ${rows.filter((r) => r.killed).length}, ` +
    `converged: ${rows.filter((r) => r.converged).length}, leaks: ${rows.reduce((n, r) => n + r.leaks, 0)}`);
  process.stdout.write(`\n${out.join('\n')}\n`);
});

/** Reads `.pcc/state.json` the way pcc does (JSON, the schema, and the local provider's own part); undefined when it parses. */
async function stateParses(project: Project): Promise<string | undefined> {
  try {
    readLocal(await new StateStore(project).read());
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The HostKeyAlias of every block in the provider's ssh alias file: one per host pcc wrote aliases for. */
function aliasHosts(ctx: ProviderContext, provider: 'ec2' | 'local'): string[] {
  const file = providerConfigFile(ctx.project, provider);
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(/^\s*HostKeyAlias (\S+)$/gm)].map((m) => m[1]!).sort();
}

/** What the user's ~/.ssh holds besides the key makeProject put there: pcc must take its files back on destroy. */
function sshLeftovers(home: string): string[] {
  const dir = path.join(home, '.ssh');
  return existsSync(dir) ? readdirSync(dir).filter((f) => !['id_ed25519', 'id_ed25519.pub'].includes(f)) : [];
}

// ---------------------------------------------------------------------------------------------
// EC2 on moto

describe('kill -9 of ec2 acquire/save/resume/release/destroy at EC2 calls, lines and times, on moto (--no-wait: moto instances cannot be reached over SSH)', () => {
  let moto: MotoServer;
  let aws: EC2Client;

  beforeAll(async () => {
    moto = await startMoto();
    useMotoEnv(moto);
    aws = motoClient(moto);
    await seedImages(moto, { region: REGION, dlamiParameter: DLAMI_PARAMETER });
  });
  afterAll(async () => {
    aws?.destroy();
    await moto?.stop();
  });

  const projectFilter = (id: string): Filter => ({ Name: 'tag:pcc:project-id', Values: [id] });

  interface Instance {
    id: string;
    state: string;
  }
  /** The project's instances as moto has them (terminated ones too: moto keeps them). */
  async function instances(id: string): Promise<Instance[]> {
    const out = await aws.send(new DescribeInstancesCommand({ Filters: [projectFilter(id)] }));
    return (out.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => ({ id: i.InstanceId!, state: i.State!.Name! }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }
  const live = async (id: string) => (await instances(id)).filter((i) => i.state !== 'terminated');
  /** The project's images and their snapshots, while they exist: a snapshot left after its image went has no other link to the project. */
  async function images(id: string): Promise<string[]> {
    const out = await aws.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [projectFilter(id)] }));
    return (out.Images ?? []).flatMap((i) => [i.ImageId!, ...(i.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []))]);
  }

  /**
   * Everything of the project moto still has: instances not terminated, groups,
   * key pairs (by the project id in the name), volumes, images (by tag or
   * name), snapshots (by tag, or of an image the project had) and pcc's
   * files in ~/.ssh.
   */
  async function leaks(t: TestProject, seen: Set<string>): Promise<string[]> {
    const id = t.project.id;
    const out: string[] = [];
    for (const i of await live(id)) out.push(`instance ${i.id} (${i.state})`);
    const groups = await aws.send(new DescribeSecurityGroupsCommand({}));
    for (const g of groups.SecurityGroups ?? []) {
      if (g.GroupName?.includes(id) || g.Tags?.some((tag) => tag.Key === 'pcc:project-id' && tag.Value === id)) out.push(`security group ${g.GroupId}`);
    }
    const keys = await aws.send(new DescribeKeyPairsCommand({}));
    for (const k of keys.KeyPairs ?? []) if (k.KeyName?.includes(id)) out.push(`key pair ${k.KeyName}`);
    const volumes = await aws.send(new DescribeVolumesCommand({ Filters: [projectFilter(id)] }));
    for (const v of volumes.Volumes ?? []) out.push(`volume ${v.VolumeId} (${v.State})`);
    const imgs = await aws.send(new DescribeImagesCommand({ Owners: ['self'] }));
    for (const img of imgs.Images ?? []) {
      if (img.Name?.includes(id) || img.Tags?.some((tag) => tag.Key === 'pcc:project-id' && tag.Value === id)) out.push(`image ${img.ImageId}`);
    }
    const snapshots = new Set<string>();
    const tagged = await aws.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [projectFilter(id)] }));
    for (const s of tagged.Snapshots ?? []) snapshots.add(s.SnapshotId!);
    const known = [...seen].filter((x) => x.startsWith('snap-'));
    if (known.length > 0) {
      const made = await aws.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: known }] }));
      for (const s of made.Snapshots ?? []) snapshots.add(s.SnapshotId!);
    }
    for (const s of snapshots) out.push(`snapshot ${s}`);
    out.push(...sshLeftovers(t.project.home).map((f) => `~/.ssh/${f}`));
    return out;
  }

  /** What the project looks like now, for the convergence checks. */
  async function world(t: TestProject) {
    const state = await new StateStore(t.project).read();
    const hosts = Object.values(state.hosts).filter((h) => h.provider === 'ec2');
    const groups = await aws.send(new DescribeSecurityGroupsCommand({ Filters: [projectFilter(t.project.id)] }));
    return {
      state,
      hosts,
      live: await live(t.project.id),
      aliases: aliasHosts(t.ctx(), 'ec2'),
      /** `tcp/22 from 198.51.100.7/32`, one per source of each rule of the project's groups. */
      rules: (groups.SecurityGroups ?? []).flatMap((g) =>
        (g.IpPermissions ?? []).flatMap((r) => [
          ...(r.IpRanges ?? []).map((x) => `${r.IpProtocol}/${r.FromPort} from ${x.CidrIp}`),
          ...(r.UserIdGroupPairs ?? []).map((x) => `${r.IpProtocol}/${r.FromPort} from ${x.GroupId === g.GroupId ? 'itself' : x.GroupId}`),
        ]),
      ).sort(),
    };
  }
  type World = Awaited<ReturnType<typeof world>>;

  /** The state names exactly the live instances, with moto's states, and the aliases name exactly those hosts. */
  function consistent(w: World, problems: string[]): void {
    const byId = new Map(w.live.map((i) => [i.id, i.state]));
    const recorded = w.hosts.map((h) => h.providerId!).sort();
    if (JSON.stringify(recorded) !== JSON.stringify([...byId.keys()].sort())) {
      problems.push(`state has ${recorded.join(',') || 'no hosts'}, moto has ${[...byId.keys()].join(',') || 'none'}`);
    }
    for (const h of w.hosts) {
      const actual = byId.get(h.providerId!);
      if (actual && h.status !== actual) problems.push(`${h.name} is ${h.status} in the state, ${actual} in moto`);
    }
    const names = w.hosts.map((h) => h.name).sort();
    if (JSON.stringify(w.aliases) !== JSON.stringify(names)) problems.push(`ssh aliases for ${w.aliases.join(',') || 'none'}, hosts ${names.join(',') || 'none'}`);
  }

  interface Ec2Case {
    command: string[];
    /** Brings a fresh project to where the command starts (in-process, as the CLI would). */
    prepare?: (ctx: ProviderContext) => Promise<void>;
    points: KillPoint[];
    /** Problems with where the re-run ended, given where the project was before the killed run. */
    check(before: World, after: World): string[];
  }

  const up2 = async (ctx: ProviderContext) => {
    await acquire('ec2', { type: 'cpu', count: 2, wait: false }, ctx);
  };
  const saved2 = async (ctx: ProviderContext) => {
    await up2(ctx);
    await save('ec2', {}, ctx);
  };
  const snapshotted2 = async (ctx: ProviderContext) => {
    await up2(ctx);
    await save('ec2', { snapshot: true }, ctx);
  };
  const allIn = (w: World, state: string, count: number, problems: string[]) => {
    if (w.live.length !== count || w.live.some((i) => i.state !== state)) {
      problems.push(`wanted ${count} ${state}, moto has ${w.live.map((i) => `${i.id}:${i.state}`).join(', ') || 'none'}`);
    }
  };
  const sameInstances = (before: World, after: World, problems: string[]) => {
    const a = before.live.map((i) => i.id).join();
    const b = after.live.map((i) => i.id).join();
    if (a !== b) problems.push(`instances changed: ${a} -> ${b}`);
  };

  /** The same instances as before, all `state`, and the state and aliases agreeing with moto. */
  const sameHostsNow = (state: string) => (before: World, after: World): string[] => {
    const p: string[] = [];
    allIn(after, state, 2, p);
    sameInstances(before, after, p);
    consistent(after, p);
    return p;
  };

  const OVERLAY_PORT = 51820;
  const acquireCheck = (before: World, after: World): string[] => {
    const p: string[] = [];
    allIn(after, 'running', 2, p);
    consistent(after, p);
    if (before.live.length > 0) sameInstances(before, after, p);
    // A kill between creating the group and opening it must not leave it shut (or doubly open).
    const wanted = [`tcp/22 from ${TEST_CIDR}`, `udp/${OVERLAY_PORT} from ${TEST_CIDR}`, `udp/${OVERLAY_PORT} from itself`].sort();
    if (after.rules.join() !== wanted.join()) p.push(`security group rules ${after.rules.join(', ') || 'none'}`);
    return p;
  };

  const cases: Ec2Case[] = [
    {
      command: ['acquire', 'ec2', '--count', '2', '--no-wait'],
      points: [
        { at: 'call', action: 'DescribeInstanceTypes', when: 'before' },
        { at: 'call', action: 'ImportKeyPair', when: 'after' },
        { at: 'call', action: 'CreateSecurityGroup', when: 'after' },
        { at: 'call', action: 'AuthorizeSecurityGroupIngress', when: 'after' },
        { at: 'call', action: 'RunInstances', when: 'before' },
        { at: 'call', action: 'RunInstances', when: 'after' },
        // The waiter's poll, then the settle's describe before the second record.
        { at: 'call', action: 'DescribeInstances', nth: 3, when: 'after' },
        { at: 'call', action: 'DescribeInstances', nth: 4, when: 'after' },
        { at: 'line', nth: 1, match: 'launching' },
        { at: 'ms', ms: 500 },
        { at: 'ms', ms: 200, from: 'ec2: create' },
      ],
      check: acquireCheck,
    },
    {
      // Over two saved hosts, acquire starts them and creates nothing.
      command: ['acquire', 'ec2', '--count', '2', '--no-wait'],
      prepare: saved2,
      points: [
        { at: 'call', action: 'StartInstances', when: 'before' },
        { at: 'call', action: 'StartInstances', when: 'after' },
      ],
      check: acquireCheck,
    },
    {
      command: ['save', 'ec2'],
      prepare: up2,
      points: [
        { at: 'call', action: 'StopInstances', when: 'after' },
        { at: 'call', action: 'DescribeInstances', nth: 3, when: 'after' },
        { at: 'line', nth: 1, match: 'stopping 2 instance(s)' },
      ],
      check: sameHostsNow('stopped'),
    },
    {
      command: ['save', 'ec2', '--snapshot'],
      prepare: up2,
      points: [
        { at: 'call', action: 'CreateImage', when: 'after' },
        { at: 'call', action: 'CreateImage', nth: 2, when: 'after' },
        { at: 'call', action: 'CreateTags', when: 'after' },
      ],
      check: sameHostsNow('stopped'),
    },
    {
      command: ['resume', 'ec2', '--no-wait'],
      prepare: saved2,
      points: [
        { at: 'call', action: 'StartInstances', when: 'after' },
        { at: 'call', action: 'DescribeInstances', nth: 3, when: 'after' },
        { at: 'line', nth: 1, match: 'ec2: start' },
      ],
      check: sameHostsNow('running'),
    },
    {
      command: ['release', 'cpu2', '--yes'],
      prepare: up2,
      points: [
        { at: 'call', action: 'TerminateInstances', when: 'before' },
        { at: 'call', action: 'TerminateInstances', when: 'after' },
        { at: 'call', action: 'DescribeInstances', nth: 3, when: 'after' },
      ],
      check: (before, after) => {
        const p: string[] = [];
        const cpu1 = before.hosts.find((h) => h.name === 'cpu1')!.providerId;
        allIn(after, 'running', 1, p);
        if (after.live[0]?.id !== cpu1) p.push(`cpu1 (${cpu1}) should be the one left`);
        consistent(after, p);
        return p;
      },
    },
    {
      command: ['destroy', 'ec2', '--yes'],
      // Saved with images, so that the sweep has images and snapshots to remove as well.
      prepare: snapshotted2,
      points: [
        { at: 'call', action: 'TerminateInstances', when: 'after' },
        { at: 'call', action: 'DeregisterImage', when: 'after' },
        { at: 'call', action: 'DeleteSnapshot', when: 'after' },
        { at: 'call', action: 'DeleteSecurityGroup', when: 'after' },
        { at: 'call', action: 'DeleteKeyPair', when: 'after' },
        { at: 'line', nth: 1, match: 'terminating 2 instance(s)' },
      ],
      check: (_before, after) => {
        const p: string[] = [];
        allIn(after, 'running', 0, p);
        consistent(after, p);
        if (after.state.providers.ec2 !== undefined) p.push('providers.ec2 is still in the state');
        return p;
      },
    },
  ];

  // Scenarios are independent (one project each, everything on moto scoped by its id); a few run at once.
  const limit = pLimit(3);
  let serial = 0;
  for (const c of cases) {
    for (const point of c.points) {
      const label = c.command.filter((a) => a !== 'ec2' && a !== '--no-wait').join(' ');
      test.concurrent(`${label}: ${describePoint(point)}`, { timeout: 120_000 }, ({ expect }) =>
        limit(async () => {
          const t = makeProject(`kill${++serial}`);
          const row: Row = { provider: 'ec2', command: c.command.join(' '), point: describePoint(point), killed: false, parses: false, converged: false, leaks: 0, notes: [] };
          rows.push(row);
          const seenImages = new Set<string>();
          const noteImages = async () => (await images(t.project.id)).forEach((i) => seenImages.add(i));
          const env = { ...moto.env, HOME: t.project.home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
          const args = ['--project', t.project.root, ...c.command];
          try {
            await c.prepare?.(t.ctx());
            await noteImages();
            const before = await world(t);

            const killed = await runAndKill({ args, env, point, ec2Endpoint: moto.endpoint });
            row.killed = killed.killed;
            if (!killed.killed) row.notes.push(`the run ended (${killed.code}) before the point; calls: ${killed.calls.join(' ')}; lines: ${killed.lines.join(' / ')}`);
            await noteImages();

            const parse = await stateParses(t.project);
            row.parses = parse === undefined;
            if (parse) row.notes.push(parse);

            const again = await pccAsync(args, env);
            const problems = again.code === 0 ? c.check(before, await world(t)) : [`re-run exited ${again.code}: ${again.stderr.trim().split('\n').slice(-3).join(' / ')}`];
            row.converged = problems.length === 0;
            row.notes.push(...problems);
            await noteImages();

            // The destroy that follows every other command runs in-process (the function `pcc destroy
            // --yes` calls after its plan): one CLI start less per point keeps the file fast.
            const failed = c.command[0] === 'destroy' ? undefined : await destroy('ec2', t.ctx()).then(() => undefined, (err: Error) => err.message);
            const left = [...(failed ? [`the final destroy failed: ${failed}`] : []), ...(await leaks(t, seenImages))];
            row.leaks = left.length;
            row.notes.push(...left.map((l) => `left: ${l}`));

            expect(row.notes, 'see the table').toEqual([]);
          } finally {
            t.cleanup();
          }
        }),
      );
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Local hosts (real systemd-nspawn machines)

describe('kill -9 of local acquire/save/resume/release/destroy at progress lines and a time, on real nspawn hosts', () => {
  let dir: string;
  let ctx: ProviderContext;
  let claim: Awaited<ReturnType<typeof claimTestSubnet>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    claim = await claimTestSubnet();
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-kill-local-'));
    const projectDir = path.join(dir, 'project');
    const home = path.join(dir, 'home');
    mkdirSync(projectDir);
    mkdirSync(home);
    ctx = localContext({ projectDir, home, env: { LOCAL_SUBNET: claim.subnet } });
    env = { HOME: home, LOCAL_SUBNET: claim.subnet, LOCAL_BASE_CACHE: TEST_BASE_CACHE };
  });
  afterAll(async () => {
    if (ctx) await localProvider.destroy(ctx).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    claim?.release();
  });

  /** Every name a machine of this file may have had: what is left of one of them is looked for even after its record went. */
  const NAMES = ['local1', 'local2', 'local3'];

  /**
   * What carries the project's id on this machine beyond what its running
   * machines need: namespaces, links, mounts, nspawn processes, cgroups,
   * nspawn's lock and propagation files, disks of machines no longer in the
   * state, and lock dirs in .pcc (a finished run leaves none). After a destroy
   * nothing at all is allowed.
   */
  async function localLeaks(): Promise<string[]> {
    const id = ctx.project.id;
    const local = readLocal(await ctx.state.read());
    const machines = local?.machines ?? {};
    const running = new Map(Object.entries(machines).filter(([, m]) => isMachineProcess(m.pid, m.root)));
    const out: string[] = [];

    const router = routerName(id);
    const allowedNetns = new Set([...[...running.values()].map((m) => m.netns), ...(local ? [router] : [])]);
    for (const ns of netnsList()) if (ns.includes(id) && !allowedNetns.has(ns)) out.push(`netns ${ns}`);

    const veths = routerVeths(router);
    const allowedLinks = new Set([...[...running.values()].map((m) => m.veth), ...(local ? [local.bridge, cloudBridgeName(id), veths.home, veths.cloud] : [])]);
    const prefixes = [`v${id.slice(0, 8)}`, bridgeName(id), cloudBridgeName(id), `vr${id.slice(0, 10)}`];
    for (const l of linkList()) if (prefixes.some((p) => l.startsWith(p)) && !allowedLinks.has(l)) out.push(`link ${l}`);

    const runningRoots = [...running.values()].map((m) => m.root);
    for (const mp of mountPoints()) {
      const mine = mp.startsWith(`/run/pcc/local/pcc-${id}-`) || mp.startsWith(ctx.project.root);
      if (mine && !runningRoots.some((r) => mp === r || mp.startsWith(`${r}/`))) out.push(`mount ${mp}`);
    }

    const recordedPids = new Set([...running.values()].map((m) => m.pid));
    for (const name of NAMES) {
      const netns = netnsName(id, name);
      const root = `/run/pcc/local/${netns}`;
      for (const pid of findMachineProcesses(root)) if (!recordedPids.has(pid)) out.push(`nspawn pid ${pid} of ${name}`);
      if (running.has(name)) continue;
      for (const cg of machineCgroupDirs(netns)) if (existsSync(cg)) out.push(`cgroup ${cg}`);
      for (const f of [root, `/run/pcc/local/.#${netns}.lck`, `/run/systemd/nspawn/propagate/${netns}`]) if (existsSync(f)) out.push(`file ${f}`);
      if (!machines[name] && existsSync(path.join(ctx.project.stateDir, 'local', name))) out.push(`disk of ${name}`);
    }
    if (existsSync(ctx.project.stateDir)) {
      for (const f of readdirSync(ctx.project.stateDir)) if (f.endsWith('.lock')) out.push(`lock .pcc/${f}`);
    }
    return out;
  }

  interface LocalStep {
    command: string[];
    point: KillPoint;
    /** Where the re-run must end: these hosts, all running or all saved (none after a destroy). */
    hosts: string[];
    status?: 'running' | 'saved';
  }

  // Two rounds on one project (each boot costs seconds): every step starts where the one before converged.
  const steps: LocalStep[] = [
    { command: ['acquire', 'local', '--count', '1'], point: { at: 'line', nth: 1, match: 'local1 | creating' }, hosts: ['local1'], status: 'running' },
    { command: ['acquire', 'local', '--count', '2'], point: { at: 'line', nth: 1, match: 'local2 | booting' }, hosts: ['local1', 'local2'], status: 'running' },
    { command: ['save', 'local'], point: { at: 'line', nth: 1, match: '| saved' }, hosts: ['local1', 'local2'], status: 'saved' },
    { command: ['resume', 'local'], point: { at: 'line', nth: 1, match: '| booting' }, hosts: ['local1', 'local2'], status: 'running' },
    { command: ['release', 'local2', '--yes'], point: { at: 'line', nth: 1, match: 'local2 | destroying' }, hosts: ['local1'], status: 'running' },
    { command: ['destroy', 'local', '--yes'], point: { at: 'line', nth: 1, match: 'local1 | destroyed' }, hosts: [] },
    { command: ['acquire', 'local', '--count', '2'], point: { at: 'ms', ms: 400, from: 'local: create' }, hosts: ['local1', 'local2'], status: 'running' },
    { command: ['save', 'local'], point: { at: 'line', nth: 1, match: '| powering off' }, hosts: ['local1', 'local2'], status: 'saved' },
    { command: ['resume', 'local'], point: { at: 'line', nth: 1, match: '| running at' }, hosts: ['local1', 'local2'], status: 'running' },
    { command: ['destroy', 'local', '--yes'], point: { at: 'line', nth: 2, match: '| destroyed' }, hosts: [] },
  ];

  for (const step of steps) {
    test(`${step.command.filter((a) => a !== 'local').join(' ')}: ${describePoint(step.point)}`, { timeout: 300_000 }, async ({ expect }) => {
      const row: Row = { provider: 'local', command: step.command.join(' '), point: describePoint(step.point), killed: false, parses: false, converged: false, leaks: 0, notes: [] };
      rows.push(row);
      const args = ['--project', ctx.project.root, ...step.command];
      const killed = await runAndKill({ args, env, point: step.point });
      row.killed = killed.killed;
      if (!killed.killed) row.notes.push(`the run ended (${killed.code}) before the point: ${killed.lines.join(' / ')}`);

      const parse = await stateParses(ctx.project);
      row.parses = parse === undefined;
      if (parse) row.notes.push(parse);

      const again = await pccAsync(args, env);
      const problems: string[] = [];
      if (again.code !== 0) problems.push(`re-run exited ${again.code}: ${again.stderr.trim().split('\n').slice(-3).join(' / ')}`);
      else {
        const state = await ctx.state.read();
        const machines = readLocal(state)?.machines ?? {};
        const hosts = Object.values(state.hosts).filter((h) => h.provider === 'local');
        const names = hosts.map((h) => h.name).sort();
        if (names.join() !== step.hosts.join()) problems.push(`hosts ${names.join(',') || 'none'}, wanted ${step.hosts.join(',') || 'none'}`);
        if (Object.keys(machines).sort().join() !== step.hosts.join()) problems.push(`machines ${Object.keys(machines).join(',') || 'none'}`);
        for (const h of hosts) {
          const up = isMachineProcess(machines[h.name]?.pid, machines[h.name]?.root ?? '');
          if (h.status !== step.status) problems.push(`${h.name} is ${h.status}, wanted ${step.status}`);
          if (up !== (step.status === 'running')) problems.push(`${h.name}'s nspawn is ${up ? 'running' : 'not running'}`);
        }
        const aliases = aliasHosts(ctx, 'local');
        if (aliases.join() !== names.join()) problems.push(`ssh aliases for ${aliases.join(',') || 'none'}`);
        if (step.hosts.length === 0 && state.providers.local !== undefined) problems.push('providers.local is still in the state');
      }
      row.converged = problems.length === 0;
      row.notes.push(...problems);

      const left = await localLeaks();
      if (step.hosts.length === 0) left.push(...sshLeftovers(ctx.project.home).map((f) => `~/.ssh/${f}`));
      row.leaks = left.length;
      row.notes.push(...left.map((l) => `left: ${l}`));
      expect(row.notes, 'see the table').toEqual([]);
    });
  }
});
