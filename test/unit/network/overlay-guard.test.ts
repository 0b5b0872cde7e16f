import { describe, expect, it } from 'vitest';
import { controllerOps } from '../../../playbooks/controller.js';
import { commandOutput } from '../../../src/facts/index.js';
import { guardCommands, guardRules, guardRulesOp, guardState, guardUnit, parseGuardState } from '../../../src/network/guard.js';
import { wireguardBackend } from '../../../src/network/wireguard.js';
import { ec2Peer, testClusterPlan } from '../../fixtures/cluster-plan.js';
import { recordedHost } from '../../fixtures/recorded-host.js';

/*
 * The overlay guard as exact commands. The `iptables -w -t raw -S` outputs
 * were captured on this machine (iptables v1.8.9 (nf_tables), Debian 12, in a
 * network namespace): a fresh table, the table after these very commands, and
 * the table after a subnet change and a rule deleted by hand.
 */
const FRESH = '-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n';
const GUARDED = [
  '-P PREROUTING ACCEPT',
  '-P OUTPUT ACCEPT',
  '-N PCC-OVERLAY',
  '-A PREROUTING -d 10.214.0.0/24 -j PCC-OVERLAY',
  '-A PREROUTING -p udp -m udp --dport 4789 -j PCC-OVERLAY',
  '-A PCC-OVERLAY -i pcc0 -j RETURN',
  '-A PCC-OVERLAY -i lo -j RETURN',
  '-A PCC-OVERLAY -i docker+ -j RETURN',
  '-A PCC-OVERLAY -i br-+ -j RETURN',
  '-A PCC-OVERLAY -j DROP',
  '',
].join('\n');
const DRIFTED = [
  '-P PREROUTING ACCEPT',
  '-P OUTPUT ACCEPT',
  '-N PCC-OVERLAY',
  '-A PREROUTING -d 10.99.0.0/24 -j PCC-OVERLAY',
  '-A PREROUTING -p udp -m udp --dport 4789 -j PCC-OVERLAY',
  '-A PCC-OVERLAY -i pcc0 -j RETURN',
  '-A PCC-OVERLAY -i docker+ -j RETURN',
  '-A PCC-OVERLAY -i br-+ -j RETURN',
  '-A PCC-OVERLAY -j DROP',
  '',
].join('\n');
const wanted = guardRules('10.214.0.0/24', 'pcc0');
const lines = (text: string) => guardCommands(parseGuardState(text), wanted).map((c) => c.argv.join(' '));
const CHAIN = [
  'iptables -w -t raw -A PCC-OVERLAY -i pcc0 -j RETURN',
  'iptables -w -t raw -A PCC-OVERLAY -i lo -j RETURN',
  'iptables -w -t raw -A PCC-OVERLAY -i docker+ -j RETURN',
  'iptables -w -t raw -A PCC-OVERLAY -i br-+ -j RETURN',
  'iptables -w -t raw -A PCC-OVERLAY -j DROP',
];
const JUMPS = ['iptables -w -t raw -I PREROUTING 1 -d 10.214.0.0/24 -j PCC-OVERLAY', 'iptables -w -t raw -I PREROUTING 2 -p udp -m udp --dport 4789 -j PCC-OVERLAY'];

describe('overlay guard: only the overlay, the host and its containers reach the overlay subnet', () => {
  it('reads the raw table in one command', () => {
    expect(guardState.script).toBe('iptables -w -t raw -S 2>/dev/null || true');
    expect(parseGuardState(FRESH)).toEqual({ chainExists: false, chain: [], jumps: [] });
    expect(parseGuardState(GUARDED)).toEqual({ chainExists: true, chain: wanted.chain, jumps: wanted.jumps });
    // No iptables at all (the fact prints nothing): the same as a fresh table.
    expect(parseGuardState('')).toEqual({ chainExists: false, chain: [], jumps: [] });
  });

  it('a fresh table gets the chain, its rules and the jumps first in PREROUTING', () => {
    expect(lines(FRESH)).toEqual(['iptables -w -t raw -N PCC-OVERLAY', ...CHAIN, ...JUMPS]);
  });

  it('the table as those commands left it needs nothing', () => {
    expect(lines(GUARDED)).toEqual([]);
    expect(guardRulesOp(wanted).plan(() => parseGuardState(GUARDED) as never, { changed: () => false })).toBeUndefined();
  });

  it('drift (another subnet, a rule deleted by hand) refills the chain and replaces the jumps it reads', () => {
    expect(lines(DRIFTED)).toEqual([
      'iptables -w -t raw -F PCC-OVERLAY',
      ...CHAIN,
      'iptables -w -t raw -D PREROUTING -d 10.99.0.0/24 -j PCC-OVERLAY',
      'iptables -w -t raw -D PREROUTING -p udp -m udp --dport 4789 -j PCC-OVERLAY',
      ...JUMPS,
    ]);
  });

  it('the unit applies the same rules at every boot, before the network and wg-quick@pcc0', () => {
    expect(guardUnit(wanted, 'pcc0')).toBe(
      [
        '[Unit]',
        'Description=pcc: only the overlay reaches the overlay subnet',
        'DefaultDependencies=no',
        'Wants=network-pre.target',
        'After=local-fs.target systemd-modules-load.service',
        'Before=network-pre.target wg-quick@pcc0.service shutdown.target',
        'Conflicts=shutdown.target',
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'ExecStart=-iptables -w -t raw -N PCC-OVERLAY',
        'ExecStart=iptables -w -t raw -F PCC-OVERLAY',
        ...CHAIN.map((c) => `ExecStart=${c}`),
        'ExecStart=-iptables -w -t raw -D PREROUTING -d 10.214.0.0/24 -j PCC-OVERLAY',
        'ExecStart=-iptables -w -t raw -D PREROUTING -p udp -m udp --dport 4789 -j PCC-OVERLAY',
        ...JUMPS.map((c) => `ExecStart=${c}`),
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
      ].join('\n'),
    );
  });

  it('every overlay member gets the guard before its overlay; the hub before it forwards', () => {
    const plan = testClusterPlan().overlay;
    const hub = wireguardBackend().hubOps(plan).map((o) => o.name);
    expect(hub.slice(0, 3)).toEqual(['overlay guard (iptables raw PCC-OVERLAY)', 'unit pcc-overlay-guard.service', 'file /etc/sysctl.d/90-pcc-overlay-hub.conf']);
    const peer = wireguardBackend().peerOps(plan.peers[0]!, plan).map((o) => o.name);
    expect(peer.slice(0, 3)).toEqual(['overlay guard (iptables raw PCC-OVERLAY)', 'unit pcc-overlay-guard.service', 'file /etc/wireguard/pcc0.conf']);
  });

  it('the Vagrant controller (Flatcar) gets it too, before its registry container and nfsd', async () => {
    const flatcar = { id: 'flatcar', idLike: [], versionId: '4230.2.0', prettyName: 'Flatcar Container Linux by Kinvolk 4230.2.0 (Oklo)' };
    const owner = commandOutput("stat -c '%u %g' /project", ['/project']).key;
    const { host, added } = recordedHost({ 'os-release': flatcar, 'cpu-flags': [], [owner]: { code: 0, stdout: '501 20\n' } }, { name: 'init', groups: ['controller'] });
    await controllerOps(host, { ...testClusterPlan([ec2Peer('gpu1', '10.214.0.2')]), exportPath: '/project-export', projectShare: '/project' });
    const names = added.map((o) => o.name);
    const guard = names.indexOf('overlay guard (iptables raw PCC-OVERLAY)');
    expect(guard).toBeGreaterThan(-1);
    expect(guard).toBeLessThan(names.indexOf('unit pcc-registry.service'));
    expect(guard).toBeLessThan(names.indexOf('service nfs-server.service'));
    expect(guard).toBeLessThan(names.indexOf('service wg-quick@pcc0.service'));
  });
});
