import { describe, expect, it } from 'vitest';
import { unsharedProjectWarning } from '../../../src/jobs/project-share.js';
import type { SwarmNode } from '../../../src/jobs/swarm-view.js';

const node = (host: string, project?: string): SwarmNode => ({
  id: `id-${host}`,
  host,
  hostname: host,
  role: 'worker',
  state: 'ready',
  availability: 'active',
  labels: project ? { 'pcc.host': host, 'pcc.project': project } : { 'pcc.host': host },
  gpus: [],
});

describe('pcc job run warns before work writes to a /project that is not the project folder', () => {
  const writes = ['sh', '-c', 'echo 1 > /project/results/$PCC_TASK_INDEX.txt'];

  it('names the hosts whose /project is their own', () => {
    expect(unsharedProjectWarning(writes, [node('local1', 'shared'), node('vm2', 'own'), node('vm1', 'own')])).toBe(
      'vm1, vm2: /project there is not the project folder (setup could not mount it), so what tasks write there stays on those hosts; see pcc setup\'s warning, or place the job elsewhere with --on',
    );
  });

  it('says nothing when every placed host shares it, or the command never names /project', () => {
    expect(unsharedProjectWarning(writes, [node('local1', 'shared'), node('ec2-1')])).toBeUndefined();
    expect(unsharedProjectWarning(['sleep', '1'], [node('vm1', 'own')])).toBeUndefined();
  });
});
