import { describe, expect, it } from 'vitest';
import type { Fact } from '../../../src/facts/fact.js';
import type { Operation } from '../../../src/ops/operation.js';
import { parseSwarmMembership, parseSwarmNodes, swarmMembership, swarmNetwork, swarmNodes } from '../../../src/swarm/facts.js';
import { nodeLabels } from '../../../src/swarm/labels.js';
import { swarmInitArgv, swarmManager, swarmNodeLabels, swarmOverlayNetwork, swarmWorker } from '../../../src/swarm/ops.js';
import type { HostRecord } from '../../../src/state/schema.js';

// Facts as data (raw output -> value) and operations by their exact commands.
const plan = (op: Operation, values: Map<string, unknown>) =>
  op.plan((f: Fact<unknown>) => values.get(f.key) as never, { changed: () => false });
const with1 = (fact: Fact<unknown>, raw: string) => new Map([[fact.key, fact.parse(raw, 0)]]);

describe('swarm facts', () => {
  it('docker info on a worker, a manager and a host without docker', () => {
    expect(parseSwarmMembership('active|n1|10.214.0.2|false|10.214.0.1:2377 \n')).toEqual({
      state: 'active', nodeId: 'n1', nodeAddress: '10.214.0.2', manager: false, managers: ['10.214.0.1:2377'],
    });
    expect(parseSwarmMembership('active|m1|10.214.0.1|true|10.214.0.1:2377 ')).toMatchObject({ manager: true });
    expect(parseSwarmMembership('inactive|||false|')).toMatchObject({ state: 'inactive', nodeId: '' });
    expect(parseSwarmMembership('missing')).toMatchObject({ state: 'missing' });
  });

  it('node inspect lines: a manager whose own address reads 0.0.0.0 takes its manager address', () => {
    expect(
      parseSwarmNodes('m1|ready|0.0.0.0|10.214.0.1:2377|{"pcc.kind":"controller"}\nw1|down|10.214.0.2||null\n'),
    ).toEqual([
      { id: 'm1', state: 'ready', address: '10.214.0.1', labels: { 'pcc.kind': 'controller' } },
      { id: 'w1', state: 'down', address: '10.214.0.2', labels: {} },
    ]);
  });
});

describe('swarm operations', () => {
  it('init on the overlay address with pcc\'s address pool; nothing when already the manager there', () => {
    expect(swarmInitArgv('10.214.0.1', '10.215.0.0/16').join(' ')).toBe(
      'docker swarm init --advertise-addr 10.214.0.1 --listen-addr 10.214.0.1:2377 --data-path-addr 10.214.0.1 --default-addr-pool 10.215.0.0/16 --default-addr-pool-mask-length 24',
    );
    const op = swarmManager('10.214.0.1', '10.215.0.0/16');
    expect(plan(op, with1(swarmMembership, 'inactive|||false|'))?.commands.map((c) => c.argv.join(' '))).toEqual([swarmInitArgv('10.214.0.1', '10.215.0.0/16').join(' ')]);
    expect(plan(op, with1(swarmMembership, 'active|m|10.214.0.1|true|10.214.0.1:2377'))).toBeUndefined();
    expect(() => plan(op, with1(swarmMembership, 'active|w|10.9.9.9|false|10.9.9.1:2377'))).toThrow(/already in a swarm as a worker on 10.9.9.9/);
  });

  it('join carries the token on stdin, never in argv; a host on an old address leaves first', () => {
    const op = swarmWorker('10.214.0.3', '10.214.0.1', 'SWMTKN-1-secret');
    const fresh = plan(op, with1(swarmMembership, 'inactive|||false|'))!;
    expect(fresh.commands).toEqual([
      {
        argv: ['sh', '-c', 'read -r token && docker swarm join --token "$token" --advertise-addr 10.214.0.3 --listen-addr 10.214.0.3:2377 --data-path-addr 10.214.0.3 10.214.0.1:2377'],
        stdin: 'SWMTKN-1-secret\n',
      },
    ]);
    expect(JSON.stringify(fresh.commands.map((c) => c.argv))).not.toContain('secret');
    const moved = plan(op, with1(swarmMembership, 'active|w|10.214.0.9|false|10.214.0.1:2377'))!;
    expect(moved.commands[0]!.argv).toEqual(['docker', 'swarm', 'leave', '--force']);
    expect(plan(op, with1(swarmMembership, 'active|w|10.214.0.3|false|10.214.0.1:2377 '))).toBeUndefined();
  });

  it('the pcc network: attachable overlay with MTU 1420, re-made when it is not', () => {
    const op = swarmOverlayNetwork('pcc', 1420);
    const fact = swarmNetwork('pcc');
    expect(plan(op, with1(fact, 'missing'))?.commands.map((c) => c.argv.join(' '))).toEqual([
      'docker network create --driver overlay --attachable --opt com.docker.network.driver.mtu=1420 pcc',
    ]);
    expect(plan(op, with1(fact, 'overlay|true|1420'))).toBeUndefined();
    expect(plan(op, with1(fact, 'overlay|false|<no value>'))?.commands.map((c) => c.argv[2])).toEqual(['rm', 'create']);
  });

  it('labels: pcc\'s made exact, the user\'s left alone, the stale copy of a re-joined node removed', () => {
    const op = swarmNodeLabels({ '10.214.0.2': { 'pcc.host': 'local1', 'pcc.kind': 'cpu' } });
    const nodes = 'old|down|10.214.0.2||{}\nnew|ready|10.214.0.2||{"pcc.kind":"gpu","pcc.stale":"x","team":"a"}\n';
    expect(plan(op, with1(swarmNodes, nodes))?.commands.map((c) => c.argv.join(' '))).toEqual([
      'docker node rm --force old',
      'docker node update --label-add pcc.host=local1 --label-add pcc.kind=cpu --label-rm pcc.stale new',
    ]);
    expect(plan(op, with1(swarmNodes, 'new|ready|10.214.0.2||{"pcc.host":"local1","pcc.kind":"cpu","team":"a"}'))).toBeUndefined();
  });

  it('a host\'s labels come from its record and what setup read', () => {
    const host = { name: 'gpu1', provider: 'ec2', site: 'ec2:us-east-1', instanceType: 'g5.xlarge', meta: {} } as unknown as HostRecord;
    expect(nodeLabels(host, { gpu: true, cpuFlags: ['sse', 'avx2'], cuda: '12.4' }, false)).toEqual({
      'pcc.host': 'gpu1',
      'pcc.kind': 'gpu',
      'pcc.provider': 'ec2',
      'pcc.site': 'ec2:us-east-1',
      'pcc.instance-type': 'g5.xlarge',
      'pcc.cpu.avx2': 'true',
      'pcc.cuda': '12.4',
    });
    expect(nodeLabels(host, { gpu: false, cpuFlags: [], projectShared: false }, false)['pcc.project']).toBe('own');
    expect(nodeLabels(host, { gpu: false, cpuFlags: [], projectShared: true }, false)['pcc.project']).toBe('shared');
  });
});
