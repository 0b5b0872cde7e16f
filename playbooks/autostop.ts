// `pcc autostop`: the agent that powers an idle host off, from the setting in
// the host's record (none: the timer stops). Setup runs the same ops.
import { autostopOps, DEFAULT_TUNING, type AgentTuning } from '../src/autostop/agent.js';
import { definePlaybook } from '../src/index.js';

export default definePlaybook<{ tuning: AgentTuning }>({
  name: 'autostop',
  async run(host, input) {
    for (const op of autostopOps(host.record.autostop, input?.tuning ?? DEFAULT_TUNING)) host.add(op);
  },
});
