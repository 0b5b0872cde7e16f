// The benchmark's compute-host playbook for pcc: the same 11 steps as
// compute-host.ansible.yml, every write under a per-host root.
import { definePlaybook, facts, ops } from 'pcc';

const unit = `[Unit]
Description=pcc agent on {{host}}

[Service]
Environment=REGISTRY_HOST={{registry}}
ExecStart=/usr/bin/sleep infinity
`;

export default definePlaybook({
  name: 'compute-host',
  async run(host) {
    const root = `${host.vars.BENCH_ROOT}/${host.name}`;
    // host.vars is strict: reading an unset variable fails, so ask first.
    const registry = 'BENCH_REGISTRY' in host.vars ? host.vars.BENCH_REGISTRY! : '10.214.0.1:5000';
    for (const d of ['etc', 'etc/pcc', 'var', 'var/lib', 'var/lib/pcc']) host.add(ops.directory(`${root}/${d}`, { mode: '0755' }));
    host.add(ops.lineInFile(`${root}/etc/pcc/env`, { line: `REGISTRY_HOST=${registry}`, match: /^REGISTRY_HOST=/ }));
    host.add(ops.template(`${root}/etc/pcc/agent.service`, { source: unit, vars: { host: host.name, registry } }));
    host.add(ops.file(`${root}/etc/pcc/agent.conf`, { content: 'log_level = info\nworkers = 4\n' }));
    host.add(ops.command(`dd if=/dev/zero of=${root}/var/lib/pcc/scratch.img bs=64k count=16 2>/dev/null`, { creates: `${root}/var/lib/pcc/scratch.img` }));
    host.add(ops.file(`${root}/etc/pcc/agent.conf`, { mode: '0600' }));
    host.add(ops.blockInFile(`${root}/etc/hosts`, { block: '10.214.0.1 init\n10.214.0.2 cpu1\n10.214.0.3 gpu1', marker: '# {mark} PCC MANAGED BLOCK' }));
    const [scratch, cpus] = await Promise.all([host.fact(facts.fileState(`${root}/var/lib/pcc/scratch.img`)), host.fact(facts.cpuCount)]);
    if (scratch.exists) host.add(ops.file(`${root}/var/lib/pcc/scratch.size`, { content: `${scratch.size}\n` }));
    host.add(ops.lineInFile(`${root}/etc/pcc/env`, { line: `CPUS=${cpus}`, match: /^CPUS=/ }));
  },
});
