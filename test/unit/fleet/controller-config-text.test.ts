import { describe, expect, it } from 'vitest';
import type { ClusterPlan } from '../../../src/fleet/cluster.js';
import {
  AFTER_OVERLAY,
  ganeshaConfig,
  kernelExports,
  kernelNfsConf,
  KERNEL_NFS_DROP_IN,
  maskUnits,
  NFS_V3_SERVICES,
  registryConfig,
  registryUnit,
} from '../../../playbooks/controller.js';

/** The controller's service configs, by exact text: the Flatcar (Vagrant controller) path cannot boot here. */
const plan = {
  registryHost: '10.214.0.1:5000',
  registryPort: 5000,
  overlay: { subnet: '10.214.0.0/24', port: 51820, mtu: 1420, hub: { name: 'init', address: '10.214.0.1', publicKey: 'k' }, peers: [] },
  exportPath: '/project-export',
  registryStorage: '/var/lib/docker-registry',
  nvidiaSysext: '',
  swarm: { managerAddress: '10.214.0.1', addressPool: '10.234.0.0/16' },
  overlayOnly: [],
} as unknown as ClusterPlan;
const owner = { uid: 1000, gid: 1000 };

describe('controller configs: the overlay only, everyone the project owner', () => {
  it('ganesha: NFSv4 on the overlay address, the export refused by default and read-write for the overlay, all squashed to the owner', () => {
    const text = ganeshaConfig(plan, owner);
    expect(text).toContain('NFS_CORE_PARAM { Protocols = 4; Bind_addr = 10.214.0.1; Enable_NLM = false; Enable_RQUOTA = false; }');
    expect(text).toContain('  Access_Type = None;\n  Squash = All_Squash;\n  Anonymous_Uid = 1000;\n  Anonymous_Gid = 1000;\n');
    expect(text).toContain('  CLIENT { Clients = 10.214.0.0/24; Access_Type = RW; }');
    expect(text).not.toMatch(/No_Root_Squash|Access_Type = RW;\n\s*Squash/);
  });

  it('registry: the overlay address only, on Debian and as Flatcar\'s container', () => {
    expect(registryConfig(plan)).toContain('  addr: 10.214.0.1:5000\n');
    const unit = registryUnit(plan);
    expect(unit).toContain('-p 10.214.0.1:5000:5000 ');
    expect(unit).toContain('After=docker.service wg-quick@pcc0.service');
  });

  it('Flatcar nfsd: the overlay subnet only, all squashed, listening on the overlay address, NFSv4 only', () => {
    expect(kernelExports(plan, owner)).toBe(
      [
        '# Written by pcc',
        '/project-export 10.214.0.0/24(rw,sync,no_subtree_check,all_squash,anonuid=1000,anongid=1000,fsid=214)',
        // The covered folders are exports of their own, or an NFSv4 client would see the real ones underneath.
        '/project-export/.pcc 10.214.0.0/24(ro,sync,no_subtree_check,all_squash,anonuid=1000,anongid=1000,fsid=215)',
        '/project-export/config 10.214.0.0/24(ro,sync,no_subtree_check,all_squash,anonuid=1000,anongid=1000,fsid=216)',
        '',
      ].join('\n'),
    );
    expect(kernelNfsConf(plan)).toBe('# Written by pcc\n[nfsd]\nhost=10.214.0.1\nvers2=n\nvers3=n\nudp=n\n');
    // nfs-server never runs without the view it exports.
    expect(KERNEL_NFS_DROP_IN).toBe(
      '[Unit]\nAfter=wg-quick@pcc0.service pcc-export-view.service\nWants=wg-quick@pcc0.service\nRequires=pcc-export-view.service\n\n[Service]\nRestart=on-failure\nRestartSec=2\n',
    );
  });

  it('services on the overlay address start after wg-quick; rpcbind and statd are masked', () => {
    expect(AFTER_OVERLAY).toBe('[Unit]\nAfter=wg-quick@pcc0.service\nWants=wg-quick@pcc0.service\n\n[Service]\nRestart=on-failure\nRestartSec=2\n');
    const mask = maskUnits(NFS_V3_SERVICES);
    expect(mask.name).toBe('mask rpcbind.socket rpcbind.service nfs-ganesha-lock.service rpc-statd.service');
    const change = mask.plan(() => false as never, { changed: () => false } as never);
    expect(change?.commands[0]!.argv).toEqual(['systemctl', 'mask', '--now', ...NFS_V3_SERVICES]);
  });
});
