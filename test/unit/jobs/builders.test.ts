import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgetNodesScript, LOST_NODES_FILE, serviceCreate, serviceLogs, swarmSnapshot, TASK_INDEX_TEMPLATE } from '../../../src/jobs/builders.js';
import { resolveJobImage } from '../../../src/jobs/image.js';
import { parseLogLine } from '../../../src/jobs/manager.js';
import { checkGpus, placementFor } from '../../../src/jobs/placement.js';
import { reaperScript } from '../../../src/jobs/reaper.js';
import { checkJobRequest, defaultJobName, type JobRequest, type JobSpec } from '../../../src/jobs/spec.js';
import { lostSummary, nameTakenMessage, parseSnapshot, viewJob, type JobView, type SwarmNode, type SwarmSnapshot } from '../../../src/jobs/swarm-view.js';
import { renderCommand } from '../../../src/remote/shell.js';
import type { HostRecord } from '../../../src/state/schema.js';

const spec: JobSpec = {
  name: 'sweep',
  imageAsGiven: 'mybusybox',
  image: '10.214.0.1:5000/mybusybox@sha256:abc',
  command: ['sh', '-c', 'echo $PCC_TASK_INDEX'],
  replicas: 6,
  parallel: 3,
  retries: 2,
  constraints: ['node.labels.pcc.kind!=controller'],
  env: ['SEED=7'],
  network: 'pcc',
};

describe('job builders: the docker argv run on the swarm manager', () => {
  it('service create for a replicated job', () => {
    expect(serviceCreate(spec).argv.join(' ')).toBe(
      'docker service create --detach --quiet --name sweep --label pcc.job=sweep --label pcc.job.image=mybusybox' +
        ' --mode replicated-job --replicas 6 --max-concurrent 3 --restart-condition on-failure --restart-max-attempts 2 --restart-delay 1s' +
        ' --constraint node.labels.pcc.kind!=controller' +
        ` --env PCC_TASK_INDEX=${TASK_INDEX_TEMPLATE} --env PCC_TASK_COUNT=6 --env PCC_JOB=sweep --env SEED=7` +
        ' --mount type=bind,source=/project,target=/project --network pcc --endpoint-mode dnsrr' +
        ' 10.214.0.1:5000/mybusybox@sha256:abc sh -c echo $PCC_TASK_INDEX',
    );
    expect(TASK_INDEX_TEMPLATE).toBe('{{if eq .Task.Slot .Node.ID}}0{{else}}{{.Task.Slot}}{{end}}');
  });

  it('GPUs as a generic resource, CPUs and memory as limits; no network when there is none', () => {
    const argv = serviceCreate({ ...spec, gpus: 1, cpus: 1.5, memory: '2G', network: undefined, command: [] }).argv.join(' ');
    expect(argv).toContain(' --generic-resource gpu=1 --limit-cpu 1.5 --limit-memory 2G --env ');
    expect(argv).not.toContain('--network');
    // Swarm reads --restart-max-attempts 0 as no limit.
    expect(serviceCreate({ ...spec, retries: 0 }).argv.join(' ')).toContain(' --max-concurrent 3 --restart-condition none --constraint ');
    expect(argv.endsWith('--mount type=bind,source=/project,target=/project 10.214.0.1:5000/mybusybox@sha256:abc')).toBe(true);
  });

  it('snapshot, logs', () => {
    expect(swarmSnapshot('sweep').argv.slice(-2)).toEqual(['sh', 'pcc.job=sweep']);
    expect(swarmSnapshot().argv.at(-1)).toBe('pcc.job');
    expect(renderCommand(serviceLogs('sweep'))).toBe(`(set -- sweep; exec docker service logs --no-trunc "$1" 2>&1\n) </dev/null`);
    expect(serviceLogs('sweep', { follow: true }).argv[2]).toBe('exec docker service logs --no-trunc --follow "$1" 2>&1');
  });

  it('log lines carry task index and host', () => {
    expect(parseLogLine('sweep.0.mouvlqx2pa9ty8011b8pvuzs3@local1    | idx=0', (h) => h)).toEqual({ task: 0, host: 'local1', line: 'idx=0' });
    expect(parseLogLine('my-job.12.abc@ip-10-0-0-1    | a | b', () => 'ec2-1')).toEqual({ task: 12, host: 'ec2-1', line: 'a | b' });
    expect(parseLogLine('error from daemon', (h) => h)).toBeUndefined();
  });

  it('the reaper removes down workers holding live tasks and notes their host', () => {
    const script = reaperScript(20);
    expect(script).toContain('grace=20');
    expect(script).toContain(`[ "$1" = down ] && [ $((now - $2)) -ge "$grace" ] || continue`);
    expect(script).toContain('echo "$id ${4:-${3:-$id}} $now" >> /var/lib/pcc/lost-nodes');
    expect(script).toContain('docker node rm --force "$id"');
  });
});

const base: JobRequest = { image: 'mybusybox', command: [], replicas: 1, retries: 0, env: [] };

describe('job flags are checked before anything is sent', () => {
  it.each([
    [{ replicas: 0 }, '--replicas 0: give a whole number of tasks from 1 to 10000'],
    [{ name: 'Bad_Name' }, '--name Bad_Name: use 2-40 lowercase letters'],
    [{ gpus: 0 }, '--gpus 0: give a whole number of GPUs per task'],
    [{ retries: -1 }, '--retries -1: give a whole number of extra attempts'],
    [{ env: ['NOEQUALS'] }, '--env NOEQUALS: write KEY=VALUE'],
    [{ env: ['PCC_TASK_INDEX=3'] }, '--env PCC_TASK_INDEX: pcc sets PCC_TASK_INDEX for every task'],
    [{ memory: 'lots' }, '--memory lots: give the memory per task like 512M or 2G'],
  ] as [Partial<JobRequest>, string][])('%j', (change, message) => {
    expect(() => checkJobRequest({ ...base, ...change })).toThrow(message);
  });
  it('default names', () => {
    expect(defaultJobName('10.214.0.1:5000/My_Image:1.0', () => 'abc123')).toBe('my-image-abc123');
    expect(defaultJobName('mybusybox@sha256:ff', () => 'abc123')).toBe('mybusybox-abc123');
  });
});

describe('images', () => {
  const folders = [{ folder: '999-mybusybox', dir: '/p/docker/999-mybusybox', rel: 'docker/999-mybusybox', order: 999, image: 'mybusybox', dockerfile: 'Dockerfile' }];
  it('a project image is pinned by its recorded digest; other references pass as they are', () => {
    const images = { mybusybox: { hash: 'h', digest: 'sha256:d1', builtAt: 'x' } };
    expect(resolveJobImage('mybusybox', folders, { images }, '10.214.0.1:5000')).toEqual({ ref: '10.214.0.1:5000/mybusybox@sha256:d1', pinned: true });
    expect(resolveJobImage('docker.io/library/python:3.12', folders, { images }, 'r:5000')).toEqual({ ref: 'docker.io/library/python:3.12', pinned: false });
    expect(() => resolveJobImage('python', folders, { images }, 'r:5000')).toThrow("image python: not one of the project's docker/NNN-name images (mybusybox)");
    expect(() => resolveJobImage('mybusybox', folders, { images: {} }, 'r:5000')).toThrow('has not been built and pushed yet; run pcc build');
  });
});

const host = (name: string, provider: HostRecord['provider'], groups: string[], typed: Partial<HostRecord> = {}): HostRecord => ({
  name, address: '127.0.0.1', port: 22, user: 'root', provider, groups, createdAt: 'x', meta: {}, ...typed,
});
const hosts = [
  host('init', 'local', ['controller']),
  host('local1', 'local', ['cpu']),
  host('local2', 'local', ['cpu']),
  host('ec2-gpu1', 'ec2', ['gpu', 'g5.xlarge'], { instanceType: 'g5.xlarge' }),
];
const node = (h: string, kind: string, provider: string, gpus: string[] = [], extra: Record<string, string> = {}): SwarmNode => ({
  id: `id-${h}`, host: h, hostname: h, role: kind === 'controller' ? 'manager' : 'worker', state: 'ready', availability: 'active',
  labels: { 'pcc.host': h, 'pcc.kind': kind, 'pcc.provider': provider, ...extra }, gpus,
});
const nodes = [
  node('init', 'controller', 'local'),
  node('local1', 'cpu', 'local'),
  node('local2', 'cpu', 'local'),
  node('ec2-gpu1', 'gpu', 'ec2', ['GPU-a'], { 'pcc.instance-type': 'g5.xlarge' }),
];

describe('--on patterns become placement constraints on node labels', () => {
  const on = (p?: string) => placementFor(p, hosts, nodes);
  it('default: every compute host, never the controller', () => {
    expect(on()).toMatchObject({ constraints: ['node.labels.pcc.kind!=controller'] });
    expect(on().nodes.map((n) => n.host)).toEqual(['local1', 'local2', 'ec2-gpu1']);
  });
  it('label terms, intersections and exclusions', () => {
    expect(on('gpu').constraints).toEqual(['node.labels.pcc.kind==gpu', 'node.labels.pcc.kind!=controller']);
    expect(on('local2').constraints).toEqual(['node.labels.pcc.host==local2', 'node.labels.pcc.kind!=controller']);
    expect(on('ec2:&gpu').constraints).toEqual(['node.labels.pcc.provider==ec2', 'node.labels.pcc.kind==gpu', 'node.labels.pcc.kind!=controller']);
    expect(on('g5.xlarge').constraints).toEqual(['node.labels.pcc.instance-type==g5.xlarge', 'node.labels.pcc.kind!=controller']);
    expect(on('local:!local1').constraints).toEqual(['node.labels.pcc.provider==local', 'node.labels.pcc.host!=local1', 'node.labels.pcc.kind!=controller']);
    expect(on('local:!local1').nodes.map((n) => n.host)).toEqual(['local2']);
  });
  it('the controller only when named', () => {
    expect(on('init').constraints).toEqual(['node.labels.pcc.host==init']);
    expect(on('local').nodes.map((n) => n.host)).toEqual(['local1', 'local2']);
  });
  it('unions and globs pin the hosts they match now', () => {
    expect(on('local1:ec2-gpu1').constraints).toEqual(['node.labels.pcc.host!=init', 'node.labels.pcc.host!=local2']);
    expect(on('local*').constraints).toEqual(['node.labels.pcc.host!=ec2-gpu1', 'node.labels.pcc.host!=init']);
  });
  it('a label the nodes do not carry falls back to the hosts', () => {
    const unlabelled = nodes.map((n) => (n.host === 'local2' ? { ...n, labels: { 'pcc.host': 'local2' } } : n));
    expect(placementFor('local', hosts, unlabelled).constraints).toEqual(['node.labels.pcc.host!=ec2-gpu1', 'node.labels.pcc.host!=init']);
  });
  it('a pattern matching nothing, or hosts not in the swarm, is one line', () => {
    expect(() => on('nohost')).toThrow("pattern 'nohost': no host or group is named 'nohost'");
    expect(() => placementFor('local1', hosts, nodes.filter((n) => n.host !== 'local1'))).toThrow('--on local1: matches local1, but none of them is in the swarm; run pcc setup local1 first');
  });
  it('GPUs: refused with what there is', () => {
    expect(() => checkGpus(1, on('local'), nodes)).toThrow('--gpus 1: no host where the job may run has 1 GPU (local1: 0, local2: 0); ask for fewer, or place it with --on gpu');
    expect(() => checkGpus(2, on(), nodes)).toThrow('(local1: 0, local2: 0, ec2-gpu1: 1)');
    expect(() => checkGpus(1, placementFor('local', hosts, nodes.slice(0, 3)), nodes.slice(0, 3))).toThrow('--gpus 1: no host in the swarm advertises a GPU');
    expect(() => checkGpus(1, on('gpu'), nodes)).not.toThrow();
  });
});

/** A recorded shape of what the manager prints (fields trimmed to what pcc reads). */
function snapshotText(tasks: object[], nodeStates: Record<string, string> = {}, lost = ''): string {
  const n = (id: string, h: string, state = 'ready') => ({ ID: id, UpdatedAt: 'x', Spec: { Role: 'worker', Availability: 'active', Labels: { 'pcc.host': h } }, Description: { Hostname: h, Resources: { GenericResources: [{ NamedResourceSpec: { Kind: 'gpu', Value: 'GPU-1' } }] } }, Status: { State: state } });
  const service = { ID: 'svc', CreatedAt: '2026-12-02T06:00:00Z', Spec: { Name: 'j', Labels: { 'pcc.job': 'j', 'pcc.job.image': 'mybusybox' }, TaskTemplate: { ContainerSpec: { Image: 'r/mybusybox@sha256:1' }, RestartPolicy: { MaxAttempts: 1 } }, Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } } } };
  return [
    '@@services', JSON.stringify([service]),
    '@@tasks', JSON.stringify(tasks),
    '@@nodes', JSON.stringify([n('n1', 'local1', nodeStates.n1), n('n2', 'local2', nodeStates.n2)]),
    '@@networks', 'pcc', 'ingress',
    '@@lost', lost,
  ].join('\n');
}
const task = (id: string, slot: number | undefined, node: string, state: string, extra: object = {}) => ({
  ID: id, ServiceID: 'svc', CreatedAt: `2026-12-02T06:00:0${id.length}Z`, ...(slot ? { Slot: slot } : {}), NodeID: node, DesiredState: 'complete', Status: { State: state, ...extra },
});

describe('job view: a state per task index from the tasks swarm keeps', () => {
  it('done, running, failed after retries, pending', () => {
    const snap: SwarmSnapshot = parseSnapshot(
      snapshotText([
        task('a', undefined, 'n1', 'complete', { ContainerStatus: { ExitCode: 0 } }),
        task('b', 1, 'n2', 'running'),
        task('c', 2, 'n1', 'failed', { Err: 'task: non-zero exit (3)', ContainerStatus: { ExitCode: 3 } }),
        task('cc', 2, 'n1', 'failed', { Err: 'task: non-zero exit (3)', ContainerStatus: { ExitCode: 3 } }),
        task('d', 3, '', 'pending', { Err: 'no suitable node (insufficient resources on 2 nodes)' }),
      ]),
    );
    expect(snap.networks).toEqual(['pcc', 'ingress']);
    expect(snap.nodes[0]!.gpus).toEqual(['GPU-1']);
    const view = viewJob(snap.jobs[0]!, snap);
    expect(view).toMatchObject({ name: 'j', image: 'mybusybox', replicas: 4, parallel: 2, retries: 1, finished: false, hosts: ['local1', 'local2'] });
    expect(view.counts).toEqual({ done: 1, running: 1, failed: 1, pending: 1, lost: 0 });
    expect(view.tasks.map((t) => [t.index, t.state, t.host, t.failures])).toEqual([
      [0, 'done', 'local1', 0],
      [1, 'running', 'local2', 0],
      [2, 'failed', 'local1', 2],
      [3, 'pending', undefined, 0],
    ]);
    expect(view.tasks[2]!.exitCode).toBe(3);
    expect(view.tasks[3]!.message).toContain('no suitable node');
  });

  it('tasks of a host that went down are lost, never running; after node rm the reaper names the host', () => {
    const down = parseSnapshot(snapshotText([task('a', undefined, 'n2', 'running'), task('b', 1, 'n1', 'complete')], { n2: 'down' }));
    const v1 = viewJob(down.jobs[0]!, down);
    expect(v1.tasks[0]).toMatchObject({ state: 'lost', lost: [{ host: 'local2' }] });
    expect(lostSummary(v1)).toEqual(['1 task lost with local2 (host down or removed from the swarm); 1 waits for swarm to run it elsewhere']);

    const removed = parseSnapshot(
      snapshotText([{ ...task('a', undefined, 'gone', 'orphaned'), DesiredState: 'shutdown' }, task('aa', undefined, 'n1', 'complete'), task('b', 1, 'n1', 'complete')], {}, 'gone local2 1796191318\n'),
    );
    const v2 = viewJob(removed.jobs[0]!, removed);
    expect(v2.tasks[0]).toMatchObject({ state: 'done', host: 'local1', lost: [{ host: 'local2' }] });
    expect(lostSummary(v2)).toEqual(['1 task lost with local2 (host down or removed from the swarm); run again elsewhere']);
  });
});

describe('item 11: the lost-task line names the host, not the swarm node id', () => {
  it('the reaper notes a node that has no pcc.host label yet by its hostname', () => {
    expect(reaperScript(20)).toContain(`{{.Status.State}} {{.UpdatedAt.Unix}} {{.Description.Hostname}} {{index .Spec.Labels "pcc.host"}}`);
  });

  it('release and destroy note each node they remove with its host (exact script; run in sh against a stand-in docker)', () => {
    const script = forgetNodesScript([
      { name: 'local2', address: '10.214.0.3' },
      { name: 'cloud1', address: '10.214.0.9' },
    ]);
    expect(script).toBe(
      [
        'mkdir -p /var/lib/pcc',
        'for id in $(docker node ls -q 2>/dev/null); do',
        `  addr=$(docker node inspect --format '{{.Status.Addr}}' "$id")`,
        '  case "$addr" in',
        '    10.214.0.3) host=local2;;',
        '    10.214.0.9) host=cloud1;;',
        '    *) continue;;',
        '  esac',
        '  docker node rm --force "$id" >/dev/null || continue',
        '  echo "$id $host $(date +%s)" >> /var/lib/pcc/lost-nodes',
        '  echo "$addr"',
        'done',
      ].join('\n'),
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'pcc-forget-'));
    try {
      // docker as the manager answers: three nodes, the second of them local2's.
      writeFileSync(
        path.join(dir, 'docker'),
        '#!/bin/sh\ncase "$1 $2" in\n"node ls") printf \'n1\\nn2\\nn3\\n\';;\n"node inspect") case "$5" in n1) echo 10.214.0.2;; n2) echo 10.214.0.3;; *) echo 10.214.0.1;; esac;;\n"node rm") echo "$4" >> "$(dirname "$0")/removed";;\nesac\n',
      );
      chmodSync(path.join(dir, 'docker'), 0o755);
      const lost = path.join(dir, 'lib', 'lost-nodes');
      const out = execFileSync('sh', ['-c', script.replaceAll(LOST_NODES_FILE, lost).replace('/var/lib/pcc', path.dirname(lost))], {
        env: { PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
      });
      expect(out).toBe('10.214.0.3\n');
      expect(readFileSync(path.join(dir, 'removed'), 'utf8')).toBe('n2\n');
      const noted = readFileSync(lost, 'utf8');
      expect(noted).toMatch(/^n2 local2 \d+\n$/);
      // job ls reads the note back: the task lost with n2 is lost with local2.
      const snap = parseSnapshot(snapshotText([{ ...task('a', undefined, 'n2', 'orphaned'), DesiredState: 'shutdown' }, task('b', 1, 'n1', 'complete')], {}, noted).replace('"ID":"n2"', '"ID":"gone"'));
      expect(lostSummary(viewJob(snap.jobs[0]!, snap))).toEqual(['1 task lost with local2 (host down or removed from the swarm); run again elsewhere']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('item 11: the rerun of a killed job run suggests pcc job wait where that is right', () => {
  const view = (finished: boolean): JobView => ({
    name: 'sweep',
    image: 'mybusybox',
    started: '2026-12-02T06:00:00Z',
    replicas: 4,
    parallel: 2,
    retries: 0,
    counts: finished ? { done: 4, running: 0, failed: 0, pending: 0, lost: 0 } : { done: 1, running: 2, failed: 0, pending: 1, lost: 0 },
    hosts: ['local1'],
    tasks: [],
    finished,
  });

  it('the same image, not finished: the job that run submitted runs on; follow it', () => {
    expect(nameTakenMessage(view(false), 'mybusybox')).toBe(
      'job sweep of mybusybox was submitted already and runs on (1 done, 2 running, 0 failed, 1 pending); follow it with pcc job wait sweep, or stop it with pcc job rm sweep --yes to run it anew',
    );
  });

  it('the same image, finished: its logs, then rm to run it again; another image: rm or another name', () => {
    expect(nameTakenMessage(view(true), 'mybusybox')).toBe(
      'job sweep of mybusybox has run already (4 done, 0 running, 0 failed, 0 pending); see pcc job logs sweep, and pcc job rm sweep to run it again',
    );
    expect(nameTakenMessage(view(false), 'other')).toBe('--name sweep: a job of that name exists already (of mybusybox); pcc job rm sweep, or choose another name');
  });
});
