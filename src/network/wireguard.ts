import { generateKeyPairSync } from 'node:crypto';
import { command } from '../ops/command.js';
import { file } from '../ops/files.js';
import { unitState } from '../facts/systemd-unit.js';
import { SYSTEM, type Operation } from '../ops/operation.js';
import { cmd } from '../remote/shell.js';
import { service } from '../ops/systemd.js';
import { overlayGuardOps } from './guard.js';
import { meshPeers } from './mesh.js';
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
 * One member's config: its own interface, and one [Peer] per member of the
 * mesh plan (see mesh.ts). Every member listens on the same port, so any
 * member that can be dialled is dialled there.
 */
export function renderConfig(node: OverlayNode, plan: OverlayPlan): string {
  const lines = [
    `# Written by pcc: ${node.name} on the overlay. Changes here are overwritten by pcc setup.`,
    '[Interface]',
    `Address = ${node.address}/${prefixOf(plan.subnet)}`,
    `ListenPort = ${plan.port}`,
    `PrivateKey = ${node.privateKey}`,
    `MTU = ${plan.mtu}`,
    // Containers (swarm's gateway bridge, docker's own) reach the overlay as this host: WireGuard
    // accepts from a peer only the addresses it was given, so a container's own source would be dropped.
    `PostUp = iptables -t nat -A POSTROUTING -o %i ! -s ${plan.subnet} -j MASQUERADE`,
    `PostDown = iptables -t nat -D POSTROUTING -o %i ! -s ${plan.subnet} -j MASQUERADE`,
  ];
  for (const peer of meshPeers(node, plan.hub, plan.peers, plan.subnet)) {
    lines.push('', `# ${peer.name}`, '[Peer]', `PublicKey = ${peer.publicKey}`);
    if (peer.endpoint) lines.push(`Endpoint = ${peer.endpoint}`);
    lines.push(`AllowedIPs = ${peer.allowedIps.join(', ')}`);
    // Keeps the NAT mapping open for a peer that cannot dial this host back.
    if (peer.keepalive) lines.push(`PersistentKeepalive = ${peer.keepalive}`);
  }
  return `${lines.join('\n')}\n`;
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
 * wireguard-go by itself where there is not. Every member gets the overlay
 * guard (./guard.ts) first, so the rules hold before the interface is up.
 */
export function wireguardBackend(): OverlayBackend {
  const ops = (content: string): Operation[] => {
    const config = file(CONFIG, { content, mode: '0600' });
    return [config, service(UNIT), reloadAfter(config)];
  };
  const guard = (plan: OverlayPlan) => overlayGuardOps(plan.subnet, WG_INTERFACE);
  return {
    name: 'wireguard',
    hubOps: (plan) => [...guard(plan), ...forwardingOps(), ...ops(renderConfig(plan.hub, plan))],
    peerOps: (node, plan) => [...guard(plan), ...ops(renderConfig(node, plan))],
  };
}
