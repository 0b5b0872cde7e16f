import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuCount, fileState } from '../../../src/facts/index.js';
import { blockInFile, command, directory, file, lineInFile, template } from '../../../src/ops/index.js';
import { fileFactMemory } from '../../../src/playbook/fact-memory.js';
import { definePlaybook, runPlaybook } from '../../../src/playbook/index.js';
import { Connection } from '../../../src/remote/connection.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

let fleet: SshdFleet;
let work: string;

beforeAll(async () => {
  fleet = await startSshdHosts(3);
  work = mkdtempSync(path.join(tmpdir(), 'pcc-runner-'));
});
afterAll(async () => {
  await fleet.stop();
  rmSync(work, { recursive: true, force: true });
});

function records(): HostRecord[] {
  return fleet.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    port: h.port,
    user: 'root',
    key: fleet.key,
    provider: 'static' as const,
    groups: [],
    createdAt: new Date().toISOString(),
    meta: {},
  }));
}

/** A run's hosts, all three checked first: a loop over an empty list would pass without checking anything. */
function everyHost<T extends { host: string }>(hosts: T[]): T[] {
  expect(hosts.map((h) => h.host).sort()).toEqual(['h1', 'h2', 'h3']);
  return hosts;
}

const connect = (h: HostRecord) =>
  Connection.open({ name: h.name, address: h.address, port: h.port, user: h.user, key: h.key }, { home: work, timeoutMs: 5000, retries: 1 });

/** The benchmark's compute-host playbook shape, writing under a per-host root. */
const computeHost = (root: string) =>
  definePlaybook({
    name: 'compute-host',
    async run(host) {
      const r = path.join(root, host.name);
      for (const d of ['etc', 'etc/pcc', 'var', 'var/data', 'run']) host.add(directory(`${r}/${d}`));
      host.add(lineInFile(`${r}/etc/environment`, { line: 'REGISTRY_HOST=10.0.0.1:5000', match: /^REGISTRY_HOST=/ }));
      host.add(template(`${r}/etc/pcc/agent.service`, { source: '[Service]\nExecStart=/bin/agent --name {{name}}\n', vars: { name: host.name } }));
      host.add(file(`${r}/etc/pcc/agent.conf`, { content: 'level=info\n' }));
      host.add(command(`dd if=/dev/zero of=${r}/var/data/blob bs=1k count=4 2>/dev/null`, { creates: `${r}/var/data/blob` }));
      host.add(file(`${r}/etc/pcc/agent.conf`, { mode: '0600' }));
      host.add(blockInFile(`${r}/etc/hosts`, { block: '10.0.0.1 init\n10.0.0.2 a\n10.0.0.3 b' }));
      const [blob, cpus] = await Promise.all([host.fact(fileState(`${r}/var/data/blob`)), host.fact(cpuCount)]);
      if (blob.exists) host.add(file(`${r}/var/data/blob.size`, { content: `${blob.size}\n` }));
      host.add(lineInFile(`${r}/etc/environment`, { line: `CPUS=${cpus}`, match: /^CPUS=/ }));
    },
  });

/** A directory, then `broken` on one host (`true` on the others), then a file that only a host that got past it writes. */
const failsOn = (name: string, broken: string, root: string) =>
  definePlaybook({
    name: `fails-on-${name}`,
    run(host) {
      host.add(directory(`${root}/${host.name}`));
      host.add(command(host.name === name ? broken : 'true', { creates: `${root}/${host.name}/never` }));
      host.add(file(`${root}/${host.name}/after`, { content: 'x' }));
    },
  });

describe('playbook runner on real sshd hosts', () => {
  it('converges in one run, then reports changed=0', async () => {
    const root = path.join(work, 'converge');
    const pb = computeHost(root);
    const first = await runPlaybook(pb, records(), { dry: false, concurrency: 8, vars: {}, connect });
    for (const h of everyHost(first.hosts)) {
      expect(h.status, h.error).toBe('changed');
      expect(h.failed).toBe(0);
    }
    const r1 = path.join(root, 'h1');
    expect(readFileSync(`${r1}/var/data/blob.size`, 'utf8')).toBe('4096\n');
    expect(readFileSync(`${r1}/etc/environment`, 'utf8')).toMatch(/^REGISTRY_HOST=10.0.0.1:5000\nCPUS=\d+\n$/);
    expect(statSync(`${r1}/etc/pcc/agent.conf`).mode & 0o777).toBe(0o600);

    const second = await runPlaybook(pb, records(), { dry: false, concurrency: 8, vars: {}, connect });
    for (const h of everyHost(second.hosts)) {
      expect(h.changed, JSON.stringify(h.ops.filter((o) => o.status !== 'ok'))).toBe(0);
      expect(h.status).toBe('ok');
      expect(h.roundTrips).toBeLessThanOrEqual(2);
    }
  });

  it('plans a file written earlier in the run from what the write predicts, and remembers its facts: a no-op re-run is one round trip', async () => {
    const root = path.join(work, 'memory');
    const factsDir = path.join(work, 'facts');
    const options = { dry: false, concurrency: 8, vars: {}, connect, memory: (pb: string, host: string) => fileFactMemory(factsDir, pb, host) };
    const pb = computeHost(root);
    const r1 = path.join(root, 'h1');

    // Check everything; apply up to the dd and stat what it made; read blob.size, which the playbook asks for only then; apply the rest.
    // agent.conf's mode and the second environment line plan from the predicted files, without reading them again.
    const first = await runPlaybook(pb, records(), options);
    for (const h of everyHost(first.hosts)) expect([h.status, h.roundTrips]).toEqual(['changed', 4]);

    const again = await runPlaybook(pb, records(), options);
    for (const h of everyHost(again.hosts)) expect([h.status, h.changed, h.roundTrips]).toEqual(['ok', 0, 1]);

    // A remembered fact is read afresh each run: a file edited by hand is seen and put right.
    writeFileSync(`${r1}/etc/pcc/agent.conf`, 'level=debug\n');
    chmodSync(`${r1}/etc/pcc/agent.conf`, 0o644);
    const edited = await runPlaybook(pb, records(), options);
    const h1 = edited.hosts.find((h) => h.host === 'h1')!;
    expect(h1.ops.filter((o) => o.status === 'changed').map((o) => o.summary)).toEqual(['content', 'mode 0644 → 0600']);
    expect([h1.roundTrips, readFileSync(`${r1}/etc/pcc/agent.conf`, 'utf8'), statSync(`${r1}/etc/pcc/agent.conf`).mode & 0o777]).toEqual([2, 'level=info\n', 0o600]);

    // On a wiped host the memory still reads everything up front; only the stat after dd waits for the dd.
    rmSync(root, { recursive: true, force: true });
    const wiped = await runPlaybook(pb, records(), options);
    for (const h of everyHost(wiped.hosts)) expect([h.status, h.roundTrips]).toEqual(['changed', 3]);
    expect(readFileSync(`${r1}/var/data/blob.size`, 'utf8')).toBe('4096\n');
    const last = await runPlaybook(pb, records(), options);
    for (const h of everyHost(last.hosts)) expect([h.changed, h.roundTrips]).toEqual([0, 1]);
  });

  it('writes content byte for byte, whichever way it travels', async () => {
    const root = path.join(work, 'bytes');
    const tricky = "-n 50% \\n 'q' \"$HOME\" `id` \u00e9\n";
    const big = 'line\n'.repeat(20_000);
    const pb = definePlaybook({
      name: 'bytes',
      run(host) {
        host.add(directory(`${root}/${host.name}`));
        host.add(file(`${root}/${host.name}/tricky`, { content: tricky }));
        host.add(file(`${root}/${host.name}/big`, { content: big, mode: '0750' }));
      },
    });
    const result = await runPlaybook(pb, records().slice(0, 1), { dry: false, concurrency: 8, vars: {}, connect });
    expect(result.hosts[0]!.status, result.hosts[0]!.error).toBe('changed');
    expect(readFileSync(`${root}/h1/tricky`, 'utf8')).toBe(tricky);
    expect(readFileSync(`${root}/h1/big`, 'utf8')).toBe(big);
    expect(statSync(`${root}/h1/big`).mode & 0o777).toBe(0o750);
    const again = await runPlaybook(pb, records().slice(0, 1), { dry: false, concurrency: 8, vars: {}, connect });
    expect(again.hosts[0]!.changed).toBe(0);
  });

  it('a command with a shell syntax error fails its host; the session and the other hosts go on', async () => {
    const root = path.join(work, 'syntax');
    const pb = failsOn('h3', 'echo "unclosed', root);
    const result = await runPlaybook(pb, records(), { dry: false, concurrency: 8, vars: {}, connect });
    const byName = Object.fromEntries(result.hosts.map((h) => [h.host, h]));
    expect([byName.h3!.status, byName.h3!.unreachable]).toEqual(['failed', false]);
    expect(byName.h3!.error).toMatch(/syntax|unterminated|EOF/i);
    expect(existsSync(`${root}/h3`)).toBe(true);
    expect(existsSync(`${root}/h3/after`)).toBe(false);
    expect(byName.h1!.status).toBe('changed');
  });

  it('--dry plans only, with a diff, and changes nothing', async () => {
    const root = path.join(work, 'dry');
    const result = await runPlaybook(computeHost(root), records().slice(0, 1), { dry: true, concurrency: 8, vars: {}, connect });
    const h = result.hosts[0]!;
    expect(h.status).toBe('changed');
    expect(existsSync(root)).toBe(false);
    const conf = h.ops.find((o) => o.name === `file ${root}/h1/etc/pcc/agent.conf`)!;
    expect(conf.diff).toContain('+level=info');
  });

  it('a failing op fails its host only, and later ops do not run', async () => {
    const root = path.join(work, 'fail');
    const pb = failsOn('h2', 'echo boom >&2; exit 3', root);
    const result = await runPlaybook(pb, records(), { dry: false, concurrency: 8, vars: {}, connect });
    const byName = Object.fromEntries(result.hosts.map((h) => [h.host, h]));
    expect(byName.h2!.status).toBe('failed');
    expect(byName.h2!.ops[1]!.error).toContain('boom');
    expect(existsSync(`${root}/h2/after`)).toBe(false);
    expect(byName.h1!.status).toBe('changed');
    expect(existsSync(`${root}/h1/after`)).toBe(true);
  });
});
