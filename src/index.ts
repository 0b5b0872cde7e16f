/**
 * The API for playbooks, the user's own included: `import { definePlaybook, ops, facts } from 'pcc'`.
 */
export { definePlaybook, type HostContext, type Playbook } from './playbook/define.js';
export * as ops from './ops/index.js';
export * as facts from './facts/index.js';
export type { HostRecord } from './state/schema.js';
