import type { BlockDeviceMatch } from '../../facts/block-device.js';
import type { VolumeRecord } from '../../state/schema.js';

/** Where a data volume is attached on the instance (AttachVolume's Device). */
export const VOLUME_DEVICE = '/dev/sdf';

/**
 * How an attached EBS volume shows up on the instance. On Nitro types it is
 * an NVMe disk (`nvme1n1`, numbered by probe order, not by attach name) whose
 * serial is the volume id without its dash, which udev also links as
 * `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…`; on Xen types the
 * attach name `/dev/sdf` appears as `xvdf` (or `sdf` on older kernels).
 */
export function ebsDeviceMatch(v: VolumeRecord): BlockDeviceMatch | undefined {
  if (!v.providerId) return undefined;
  const serial = v.providerId.replace('-', '');
  const attached = VOLUME_DEVICE.replace(/^\/dev\//, '');
  return {
    what: `volume ${v.name} (${v.providerId})`,
    serial,
    byId: [`nvme-Amazon_Elastic_Block_Store_${serial}`],
    names: [attached.replace(/^sd/, 'xvd'), attached],
  };
}
