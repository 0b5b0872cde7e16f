import { describe, expect, it } from 'vitest';
import { meshPeers, type MeshMember } from '../../../src/network/mesh.js';
import type { OverlayPlan } from '../../../src/network/overlay.js';
import { renderConfig } from '../../../src/network/wireguard.js';

// The peer plan as a pure function of host records: who dials whom, keepalives and allowed IPs.
const SUBNET = '10.214.0.0/24';
const member = (name: string, n: number, site: string, siteAddr?: string, publicAddr?: string): MeshMember => ({
  name,
  address: `10.214.0.${n}`,
  publicKey: `${name}-pub`,
  site,
  ...(siteAddr ? { siteEndpoint: `${siteAddr}:51820` } : {}),
  ...(publicAddr ? { publicEndpoint: `${publicAddr}:51820` } : {}),
});
// A laptop at home (controller and one local host behind NAT), two cloud hosts, two EC2 hosts in one region.
const hub = member('init', 1, 'home', '10.213.0.2');
const local1 = member('local1', 2, 'home', '10.213.0.3');
const cloud1 = member('cloud1', 3, 'cloud', '10.212.0.2', '10.212.0.2');
const cloud2 = member('cloud2', 4, 'cloud', '10.212.0.3', '10.212.0.3');
const gpu1 = member('gpu1', 5, 'ec2:us-east-1', '172.31.0.5', '203.0.113.5');
const gpu2 = member('gpu2', 6, 'ec2:us-east-1', '172.31.0.6', '203.0.113.6');
const all = [local1, cloud1, cloud2, gpu1, gpu2];

describe('mesh peer plan', () => {
  it('the NAT-ed controller dials every reachable peer and keeps the mapping open; home peers it reaches on the LAN', () => {
    expect(meshPeers(hub, hub, all, SUBNET)).toEqual([
      { name: 'local1', publicKey: 'local1-pub', endpoint: '10.213.0.3:51820', allowedIps: ['10.214.0.2/32'] },
      { name: 'cloud1', publicKey: 'cloud1-pub', endpoint: '10.212.0.2:51820', allowedIps: ['10.214.0.3/32'], keepalive: 25 },
      { name: 'cloud2', publicKey: 'cloud2-pub', endpoint: '10.212.0.3:51820', allowedIps: ['10.214.0.4/32'], keepalive: 25 },
      { name: 'gpu1', publicKey: 'gpu1-pub', endpoint: '203.0.113.5:51820', allowedIps: ['10.214.0.5/32'], keepalive: 25 },
      { name: 'gpu2', publicKey: 'gpu2-pub', endpoint: '203.0.113.6:51820', allowedIps: ['10.214.0.6/32'], keepalive: 25 },
    ]);
  });

  it('a cloud host waits for home to dial it, and talks to its own site directly', () => {
    expect(meshPeers(cloud1, hub, all, SUBNET)).toEqual([
      // No endpoint: the controller is behind NAT. Its entry carries the rest of the overlay (relay, late joiners).
      { name: 'init', publicKey: 'init-pub', allowedIps: [SUBNET] },
      { name: 'local1', publicKey: 'local1-pub', allowedIps: ['10.214.0.2/32'] },
      { name: 'cloud2', publicKey: 'cloud2-pub', endpoint: '10.212.0.3:51820', allowedIps: ['10.214.0.4/32'] },
      { name: 'gpu1', publicKey: 'gpu1-pub', endpoint: '203.0.113.5:51820', allowedIps: ['10.214.0.5/32'] },
      { name: 'gpu2', publicKey: 'gpu2-pub', endpoint: '203.0.113.6:51820', allowedIps: ['10.214.0.6/32'] },
    ]);
  });

  it('EC2 hosts of one region dial each other privately, never through the laptop', () => {
    const peers = meshPeers(gpu1, hub, all, SUBNET);
    expect(peers.find((p) => p.name === 'gpu2')).toEqual({ name: 'gpu2', publicKey: 'gpu2-pub', endpoint: '172.31.0.6:51820', allowedIps: ['10.214.0.6/32'] });
    expect(peers.find((p) => p.name === 'cloud1')).toEqual({ name: 'cloud1', publicKey: 'cloud1-pub', endpoint: '10.212.0.2:51820', allowedIps: ['10.214.0.3/32'] });
  });

  it('two hosts behind different NATs relay through a reachable controller: no direct entry, the hub covers them', () => {
    const lab = member('init', 1, 'lab', '10.0.0.1', '198.51.100.1');
    const home = member('home1', 7, 'home', '192.168.1.7');
    const office = member('office1', 8, 'office', '192.168.2.8');
    expect(meshPeers(home, lab, [home, office], SUBNET)).toEqual([
      { name: 'init', publicKey: 'init-pub', endpoint: '198.51.100.1:51820', allowedIps: [SUBNET], keepalive: 25 },
    ]);
    expect(() => meshPeers(office, hub, [office], SUBNET)).toThrow(
      'office1 (site office) and the controller init (site home) cannot reach each other: both are behind NAT; put the controller where office1 can reach it',
    );
  });

  it('renders one member\'s WireGuard config with its port and MTU', () => {
    const node = { ...cloud1, privateKey: 'cloud1-priv' };
    const plan: OverlayPlan = { subnet: SUBNET, port: 51820, mtu: 1420, hub: { ...hub, privateKey: 'x' }, peers: [{ ...local1, privateKey: 'y' }, node] };
    expect(renderConfig(node, plan)).toBe(
      [
        '# Written by pcc: cloud1 on the overlay. Changes here are overwritten by pcc setup.',
        '[Interface]',
        'Address = 10.214.0.3/24',
        'ListenPort = 51820',
        'PrivateKey = cloud1-priv',
        'MTU = 1420',
        'PostUp = iptables -t nat -A POSTROUTING -o %i ! -s 10.214.0.0/24 -j MASQUERADE',
        'PostDown = iptables -t nat -D POSTROUTING -o %i ! -s 10.214.0.0/24 -j MASQUERADE',
        '',
        '# init',
        '[Peer]',
        'PublicKey = init-pub',
        'AllowedIPs = 10.214.0.0/24',
        '',
        '# local1',
        '[Peer]',
        'PublicKey = local1-pub',
        'AllowedIPs = 10.214.0.2/32',
        '',
      ].join('\n'),
    );
    expect(renderConfig(plan.hub, plan)).toContain('# cloud1\n[Peer]\nPublicKey = cloud1-pub\nEndpoint = 10.212.0.2:51820\nAllowedIPs = 10.214.0.3/32\nPersistentKeepalive = 25\n');
  });
});
