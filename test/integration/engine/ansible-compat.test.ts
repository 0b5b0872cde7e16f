import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileState } from '../../../src/facts/index.js';
import { blockInFile, command, directory, file, lineInFile } from '../../../src/ops/index.js';
import { definePlaybook, runPlaybook } from '../../../src/playbook/index.js';
import type { RunResult } from '../../../src/playbook/result.js';
import { Connection } from '../../../src/remote/connection.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { startSshdHosts, type SshdFleet } from '../../fixtures/sshd.js';

let fleet: SshdFleet;
let work: string;
beforeAll(async () => {
  fleet = await startSshdHosts(1);
  work = mkdtempSync(path.join(tmpdir(), 'pcc-ansible-compat-'));
});
afterAll(async () => {
  await fleet?.stop();
  rmSync(work, { recursive: true, force: true });
});

const record = (): HostRecord => {
  const h = fleet.hosts[0]!;
  return { name: h.name, address: h.address, port: h.port, user: 'root', key: fleet.key, provider: 'static', groups: [], createdAt: '', meta: {} };
};
const connect = (h: HostRecord) =>
  Connection.open({ name: h.name, address: h.address, port: h.port, user: h.user, key: h.key }, { home: work, timeoutMs: 5000, retries: 1 });
const run = (pb: Parameters<typeof runPlaybook>[0], dry = false) => runPlaybook(pb, [record()], { dry, concurrency: 1, vars: {}, connect });

/** Ansible's own blockinfile, run here with the local connection (no network). */
function ansibleBlock(file: string, block: string): { changed: boolean } {
  const playbook = path.join(work, 'block.yml');
  writeFileSync(
    playbook,
    `- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.blockinfile:
        path: ${file}
        create: true
        marker: "# {mark} PCC MANAGED"
        block: ${JSON.stringify(block)}
`,
  );
  const out = execFileSync('ansible-playbook', ['-c', 'local', '-i', 'localhost,', playbook], {
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_HOME: path.join(work, 'ansible-home'), ANSIBLE_LOCAL_TEMP: path.join(work, 'ansible-tmp'), ANSIBLE_NOCOLOR: '1' },
  });
  const recap = /localhost\s+: ok=(\d+)\s+changed=(\d+)/.exec(out);
  if (!recap) throw new Error(`no recap in ansible output:\n${out}`);
  return { changed: recap[2] !== '0' };
}

const blockPlaybook = (file: string, block: string) =>
  definePlaybook({ name: 'block', run: (host) => host.add(blockInFile(file, { block, marker: '# {mark} PCC MANAGED' })) });

describe('Ansible block markers', () => {
  it('pcc takes over a block that real Ansible wrote: byte for byte, one block, and back again', async () => {
    const hosts = path.join(work, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost\n# a comment of the user\n::1 ip6-localhost');
    expect(ansibleBlock(hosts, '10.214.0.1 init\n10.214.0.2 cpu1\n').changed).toBe(true);
    const byAnsible = readFileSync(hosts, 'utf8');
    expect(byAnsible.match(/# BEGIN PCC MANAGED\n/g)).toHaveLength(1);

    const same = await run(blockPlaybook(hosts, '10.214.0.1 init\n10.214.0.2 cpu1'));
    expect(same.hosts[0]!.status, same.hosts[0]!.error).toBe('ok');
    expect(readFileSync(hosts, 'utf8')).toBe(byAnsible);

    const changed = await run(blockPlaybook(hosts, '10.214.0.1 init\n10.214.0.3 gpu1\n'));
    expect(changed.hosts[0]!.changed).toBe(1);
    const byPcc = readFileSync(hosts, 'utf8');
    expect(byPcc.match(/# BEGIN PCC MANAGED\n/g)).toHaveLength(1);
    expect(byPcc.match(/# END PCC MANAGED\n/g)).toHaveLength(1);
    expect(byPcc).toBe(byAnsible.replace('10.214.0.2 cpu1', '10.214.0.3 gpu1'));
    // And Ansible finds nothing to do in what pcc wrote.
    expect(ansibleBlock(hosts, '10.214.0.1 init\n10.214.0.3 gpu1\n').changed).toBe(false);
    expect(readFileSync(hosts, 'utf8')).toBe(byPcc);
  });

  it('markerBegin/markerEnd take whole lines', async () => {
    const f = path.join(work, 'conf');
    writeFileSync(f, 'a\n<!-- begin pcc -->\nold\n<!-- end pcc -->\nb\n');
    await run(definePlaybook({ name: 'xml', run: (host) => host.add(blockInFile(f, { block: 'new', markerBegin: '<!-- begin pcc -->', markerEnd: '<!-- end pcc -->' })) }));
    expect(readFileSync(f, 'utf8')).toBe('a\n<!-- begin pcc -->\nnew\n<!-- end pcc -->\nb\n');
  });
});

/** The benchmark's shape: a command makes a file that later steps chmod and stat. */
const computeHost = (root: string) =>
  definePlaybook({
    name: 'dry-vs-real',
    async run(host) {
      for (const d of ['', '/etc', '/var']) host.add(directory(`${root}${d}`, { mode: '0755' }));
      host.add(lineInFile(`${root}/etc/env`, { line: 'REGISTRY_HOST=10.214.0.1:5000', match: /^REGISTRY_HOST=/ }));
      host.add(file(`${root}/etc/agent.conf`, { content: 'workers = 4\n' }));
      host.add(file(`${root}/etc/agent.conf`, { mode: '0600' }));
      host.add(command(`dd if=/dev/zero of=${root}/var/scratch.img bs=64k count=1 2>/dev/null`, { creates: `${root}/var/scratch.img` }));
      host.add(file(`${root}/var/scratch.img`, { mode: '0600' }));
      host.add(blockInFile(`${root}/etc/hosts`, { block: '10.214.0.1 init', marker: '# {mark} PCC MANAGED' }));
      const scratch = await host.fact(fileState(`${root}/var/scratch.img`));
      if (scratch.exists) host.add(file(`${root}/var/scratch.size`, { content: `ready ${scratch.size}\n` }));
    },
  });

const changedOps = (r: RunResult) => r.hosts[0]!.ops.filter((o) => o.status === 'changed').map((o) => o.name);

describe('honest dry runs', () => {
  it('--dry and then the real run on the same fresh host: the same changes, and no invented file', async () => {
    const root = path.join(work, 'fresh');
    const dry = await run(computeHost(root), true);
    expect(dry.hosts[0]!.error).toBeUndefined();
    expect(existsSync(root)).toBe(false);
    const real = await run(computeHost(root));
    expect(real.hosts[0]!.status, real.hosts[0]!.error).toBe('changed');
    expect(readFileSync(`${root}/var/scratch.size`, 'utf8')).toBe('ready 65536\n');
    expect(statSync(`${root}/var/scratch.img`).mode & 0o777).toBe(0o600);

    const size = `file ${root}/var/scratch.size`;
    // Everything the real run changed, --dry said would (or may) change, except the step the
    // playbook added on a fact the dry run could only read as it is now, and says so.
    expect(changedOps(real).filter((n) => n !== size)).toEqual(changedOps(dry));
    expect(dry.hosts[0]!.guessed).toEqual([`file:${root}/var/scratch.img`]);
    const chmod = dry.hosts[0]!.ops.find((o) => o.name === `file ${root}/var/scratch.img`)!;
    expect(chmod).toMatchObject({ status: 'changed', uncertain: true });
    // The old dry run predicted an empty scratch.img here, and then wrote `ready 0`.
    expect(dry.hosts[0]!.ops.map((o) => o.name)).not.toContain(size);
    const again = await run(computeHost(root), true);
    expect(changedOps(again)).toEqual([]);
  });

  it('a mode on a missing file fails, as in Ansible, unless asked to create it', async () => {
    const f = path.join(work, 'missing-mode');
    const failed = await run(definePlaybook({ name: 'mode', run: (host) => host.add(file(f, { mode: '0600' })) }));
    expect(failed.hosts[0]!.status).toBe('failed');
    expect(failed.hosts[0]!.error).toBe(`file ${f}: ${f} does not exist, and only its mode or owner is given; give content, or create: true for an empty file`);
    expect(existsSync(f)).toBe(false);
    const made = await run(definePlaybook({ name: 'mode', run: (host) => host.add(file(f, { mode: '0600', create: true })) }));
    expect(made.hosts[0]!.status).toBe('changed');
    expect([readFileSync(f, 'utf8'), statSync(f).mode & 0o777]).toEqual(['', 0o600]);
  });
});
