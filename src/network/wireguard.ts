import { generateKeyPairSync } from 'node:crypto';
import { command } from '../ops/command.js';
import { file } from '../ops/files.js';
import { unitState } from '../facts/systemd-unit.js';
import { SYSTEM, type Operation } from '../ops/operation.js';
import { cmd } from '../remote/shell.js';
import { service } from '../ops/systemd.js';
import type { OverlayBackend, OverlayNode, OverlayPlan } from './overlay.js';

export const WG_INTERFACE = 'pcc0';
const CONFIG = `/etc/wireguard/${WG_INTERFACE}.conf`;
const UNIT = `wg-quick@${WG_INTERFACE}.service`;

/**
 * A changed config is applied with `wg syncconf`, not a restart: a restart
 * would make the hub forget where its peers are until each one's next
 * keepalive, and cut every tunnel meanwhile.
 */
export function reloadAfter(config: Operation): Operation {
  const status = unitState(UNIT);
  const stripped = `/run/${WG_INTERFACE}.stripped.conf`;
  return {
    name: `reload ${WG_INTERFACE}`,
    facts: [status],
    touches: [SYSTEM],
    plan(read, earlier) {
      if (!earlier.changed(config) || !read(status).active) return undefined;
      return {
        summary: 'wg syncconf',
        commands: [cmd('sh', '-c', `wg-quick strip ${WG_INTERFACE} > ${stripped} && wg syncconf ${WG_INTERFACE} ${stripped}; rc=$?; rm -f ${stripped}; exit $rc`)],
      };
    },
  };
}

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
 * The hub forwards between peers, so every host reaches every other through
 * it, whatever NAT sits in front of them; `forwardingOps` turns that on.
 */
export function renderHubConfig(plan: OverlayPlan, listenPort: number): string {
  const lines = [
    '# Written by pcc: the overlay hub. Changes here are overwritten by pcc setup.',
    '[Interface]',
    `Address = ${plan.hub.address}/${prefixOf(plan.subnet)}`,
    `ListenPort = ${listenPort}`,
    `PrivateKey = ${plan.hub.privateKey}`,
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
 * IPv4 forwarding on the hub (a VM or a machine's own namespace), kept across
 * reboots. Where it is already on (a local controller gets it from its
 * provider) nothing is written to /proc.
 */
export function forwardingOps(): Operation[] {
  return [
    file('/etc/sysctl.d/90-pcc-overlay-hub.conf', { content: 'net.ipv4.ip_forward = 1\n', mode: '0644' }),
    command(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { unless: 'grep -qx 1 /proc/sys/net/ipv4/ip_forward', name: 'ip forwarding on' }),
  ];
}

/**
 * wg-quick uses the kernel module where there is one and falls back to
 * wireguard-go by itself where there is not.
 */
export function wireguardBackend(listenPort: number): OverlayBackend {
  const ops = (content: string): Operation[] => {
    const config = file(CONFIG, { content, mode: '0600' });
    return [config, service(UNIT), reloadAfter(config)];
  };
  return {
    name: 'wireguard',
    hubOps: (plan) => [...forwardingOps(), ...ops(renderHubConfig(plan, listenPort))],
    peerOps: (node, plan) => ops(renderPeerConfig(node, plan)),
  };
}
