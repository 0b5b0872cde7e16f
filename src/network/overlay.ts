import type { Operation } from '../ops/operation.js';

/** A member of the overlay: the controller (hub) or a compute host. */
export interface OverlayNode {
  name: string;
  /** Address on the overlay, e.g. 10.214.0.2. */
  address: string;
  /** Where others reach it from outside the overlay (hub only), host:port. */
  endpoint?: string;
  publicKey: string;
  privateKey: string;
}

export interface OverlayPlan {
  subnet: string;
  hub: OverlayNode;
  peers: OverlayNode[];
}

/**
 * The shared network behind one interface, so that another backend (Nebula,
 * Tailscale) can take WireGuard's place without touching the playbooks.
 */
export interface OverlayBackend {
  readonly name: string;
  /** Operations that make `node` the hub, with every peer known. */
  hubOps(plan: OverlayPlan): Operation[];
  /** Operations that join `node` to the hub. */
  peerOps(node: OverlayNode, plan: OverlayPlan): Operation[];
}
