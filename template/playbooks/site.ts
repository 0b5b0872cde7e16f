// An example playbook: pcc run playbooks/site.ts all
// Operations are planned from facts on every host first; only what differs is
// changed, in one script per host. `pcc run ... --dry` shows the diffs.
import { definePlaybook, facts, ops } from 'pcc';

export default definePlaybook({
  name: 'site',
  async run(host) {
    host.add(ops.directory('/srv/site', { mode: '0755' }));
    const cpus = await host.fact(facts.cpuCount);
    host.add(ops.file('/srv/site/about', { content: `${host.name} has ${cpus} CPUs\n` }));
    // host.vars come from config/vars.env (and config/hosts/, config/groups/, --var);
    // reading one that is not set is an error that names it.
    if ('GREETING' in host.vars) {
      host.add(ops.lineInFile('/etc/motd', { line: host.vars.GREETING!, match: /^Hello/ }));
    }
  },
});
