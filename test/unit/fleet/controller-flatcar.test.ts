import { describe, expect, it } from 'vitest';
import { controllerOps } from '../../../playbooks/controller.js';
import { EXPORT_VIEW_UNIT } from '../../../playbooks/export-view.js';
import { commandOutput } from '../../../src/facts/index.js';
import { testClusterPlan } from '../../fixtures/cluster-plan.js';
import { recordedHost } from '../../fixtures/recorded-host.js';

/** The controller playbook on a recorded Flatcar host (the Vagrant controller; no VirtualBox here): what it plans, in order. */
const flatcar = { id: 'flatcar', idLike: [], versionId: '4230.2.0', prettyName: 'Flatcar Container Linux by Kinvolk 4230.2.0 (Oklo)' };
const share = '/project';
const ownerOf = (folder: string) => commandOutput(`stat -c '%u %g' ${folder}`, [folder]).key;
const controller = (answers: Record<string, unknown>) => recordedHost({ 'os-release': flatcar, 'cpu-flags': [], ...answers }, { name: 'init', groups: ['controller'] });

describe('the Flatcar controller exports the view of Vagrant\'s share, never the share', () => {
  it('reads the owner from the share, writes the view before the exports, and nfs-server restarts after either', async () => {
    const plan = { ...testClusterPlan(), exportPath: '/project-export', projectShare: share };
    const { host, added } = controller({ [ownerOf(share)]: { code: 0, stdout: '501 20\n' } });
    await controllerOps(host, plan);
    const names = added.map((o) => o.name);
    const at = (name: string) => names.indexOf(name);
    expect(at('file /etc/pcc/export-view')).toBeGreaterThan(-1);
    expect(at(`unit ${EXPORT_VIEW_UNIT}`)).toBeGreaterThan(at('file /etc/pcc/export-view'));
    expect(at('service nfs-server.service')).toBeGreaterThan(at(`unit ${EXPORT_VIEW_UNIT}`));
    expect(at('service nfs-server.service')).toBeGreaterThan(at('file /etc/exports'));
  });

  it('a Flatcar controller whose record names no share is refused before anything is planned on it', async () => {
    const plan = { ...testClusterPlan(), exportPath: '/project-export' };
    const { host } = controller({ [ownerOf('/project-export')]: { code: 0, stdout: '501 20\n' } });
    await expect(controllerOps(host, plan)).rejects.toThrow("a Flatcar controller exports the project from a share (Vagrant's), and its host record names none; run pcc acquire vagrant again");
  });

  it('a share on a controller that is not Flatcar is refused: only the Flatcar Vagrant box provisions', async () => {
    const plan = { ...testClusterPlan(), exportPath: '/project-export', projectShare: share };
    const debian = { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' };
    const { host } = controller({ 'os-release': debian, [ownerOf(share)]: { code: 0, stdout: '501 20\n' } });
    await expect(controllerOps(host, plan)).rejects.toThrow(
      'the Vagrant controller runs Flatcar (its Vagrantfile applies Ignition), and this one runs Debian GNU/Linux 12 (bookworm); set VAGRANT_BOX to a Flatcar box',
    );
  });
});
