export { definePlaybook, type HostContext, type Playbook } from './define.js';
export { runPlaybook, type RunOptions } from './run.js';
export { runFailed, type HostResult, type OpResult, type RunResult } from './result.js';
