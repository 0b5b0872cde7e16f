import { generateKeyPairSync } from 'node:crypto';
import { file } from '../ops/files.js';
import type { Operation } from '../ops/operation.js';
import { service } from '../ops/systemd.js';
import type { OverlayBackend, OverlayNode, OverlayPlan } from './overlay.js';

export const WG_INTERFACE = 'pcc0';
const CONFIG = `/etc/wireguard/${WG_INTERFACE}.conf`;

/** A WireGuard key pair is a raw X25519 pair, base64-encoded; no `wg` binary needed on the laptop. */
export function generateWireguardKeys(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const raw = (der: Buffer) => der.subarray(der.length - 32).toString('base64');
  return {
    privateKey: raw(privateKey.export({ format: 'der', type: 'pkcs8' })),
    publicKey: raw(publicKey.export({ format: 'der', type: 'spki' })),
  };
}

export function prefixOf(subnet: string): string {
  return subnet.split('/')[1]!;
}

/**
 * The hub forwards between peers (in its own namespace or VM only), so every
 * host reaches every other through it, whatever NAT sits in front of them.
 */
export function renderHubConfig(plan: OverlayPlan, listenPort: number): string {
  const lines = [
    '# Written by pcc: the overlay hub. Changes here are overwritten by pcc setup.',
    '[Interface]',
    `Address = ${plan.hub.address}/${prefixOf(plan.subnet)}`,
    `ListenPort = ${listenPort}`,
    `PrivateKey = ${plan.hub.privateKey}`,
    'PostUp = sysctl -q -w net.ipv4.ip_forward=1',
  ];
  for (const peer of [...plan.peers].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }))) {
    lines.push('', `# ${peer.name}`, '[Peer]', `PublicKey = ${peer.publicKey}`, `AllowedIPs = ${peer.address}/32`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderPeerConfig(node: OverlayNode, plan: OverlayPlan): string {
  return [
    `# Written by pcc: ${node.name} on the overlay. Changes here are overwritten by pcc setup.`,
    '[Interface]',
    `Address = ${node.address}/${prefixOf(plan.subnet)}`,
    `PrivateKey = ${node.privateKey}`,
    '',
    `# ${plan.hub.name}`,
    '[Peer]',
    `PublicKey = ${plan.hub.publicKey}`,
    `Endpoint = ${plan.hub.endpoint}`,
    `AllowedIPs = ${plan.subnet}`,
    // Keeps NAT mappings open so the hub can reach hosts behind a router.
    'PersistentKeepalive = 25',
    '',
  ].join('\n');
}

/**
 * wg-quick uses the kernel module where there is one and falls back to
 * wireguard-go by itself where there is not.
 */
export function wireguardBackend(listenPort: number): OverlayBackend {
  const ops = (content: string): Operation[] => {
    const config = file(CONFIG, { content, mode: '0600' });
    return [config, service(`wg-quick@${WG_INTERFACE}.service`, { restartAfter: [config] })];
  };
  return {
    name: 'wireguard',
    hubOps: (plan) => ops(renderHubConfig(plan, listenPort)),
    peerOps: (node, plan) => ops(renderPeerConfig(node, plan)),
  };
}
