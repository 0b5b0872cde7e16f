import type { Operation } from '../ops/operation.js';
import type { MeshMember } from './mesh.js';

/** A member of the overlay: the controller (hub) or a compute host, with its own private key. */
export interface OverlayNode extends MeshMember {
  privateKey: string;
}

export interface OverlayPlan {
  subnet: string;
  /** The port every member listens on. */
  port: number;
  /** The overlay interface's MTU: 1420 leaves room for WireGuard over a 1500-byte path. */
  mtu: number;
  hub: OverlayNode;
  /** Every enrolled member but the hub, whether or not this run sets it up. */
  peers: OverlayNode[];
}

/**
 * The shared network behind one interface, so that another backend (Nebula,
 * Tailscale) can take WireGuard's place without touching the playbooks.
 */
export interface OverlayBackend {
  readonly name: string;
  /** Operations that make the hub a member that also forwards between the others. */
  hubOps(plan: OverlayPlan): Operation[];
  /** Operations that join `node` to the mesh. */
  peerOps(node: OverlayNode, plan: OverlayPlan): Operation[];
}
