import type { HostRecord } from '../../state/schema.js';

/**
 * How long an EC2 host may take from launch (or start) until SSH answers,
 * when EC2_SSH_WAIT_S does not say. The connection's own retries (about 40 s
 * with the defaults) are far shorter than a first boot:
 * - GPU, 600 s: a Flatcar GPU host fetches the NVIDIA driver and container
 *   toolkit sysexts at first boot, a few hundred MB, before sshd is up; the
 *   Deep Learning AMI's large root snapshot is read lazily from S3 as it
 *   boots, and AWS's own guidance is to expect minutes.
 * - CPU, 300 s: Flatcar boots in about a minute, but a new instance may wait
 *   for capacity, its status checks and its image's blocks; the margin costs
 *   nothing when the host is quicker, since pcc stops waiting at the first answer.
 */
export const SSH_WAIT_GPU_S = 600;
export const SSH_WAIT_CPU_S = 300;

export function sshWaitSeconds(host: Pick<HostRecord, 'groups'>, setting: number | undefined): number {
  return setting ?? (host.groups.includes('gpu') ? SSH_WAIT_GPU_S : SSH_WAIT_CPU_S);
}
