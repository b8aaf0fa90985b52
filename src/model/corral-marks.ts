// How Corral marks what its compose overlay adds to a stack, so a reader of the merged files can
// tell Corral's gate and networks from the stack's own. The compiler writes these marks; the
// scanner reads them. Both import them from here so the two cannot drift apart.
import type { Deployment, Network, Service } from "./types.ts";

/** The gate's service name in the overlay (and in the lab). */
export const GATE_SERVICE = "corral-gate";
export const ROLE_LABEL = "dev.corral.role";
export const ZONE_LABEL = "dev.corral.zone";
export const ISOLATE_LABEL = "dev.corral.isolate";

/**
 * Corral's own egress gate: its name and its role label both, so a stack's service cannot
 * pass for the gate by one of them alone (and so escape the egress rules).
 */
export function isCorralGate(s: Service): boolean {
  return s.name === GATE_SERVICE && s.labels[ROLE_LABEL] === "gate";
}

export function isCorralNetwork(n: Network): boolean {
  return n.labels?.[ZONE_LABEL] !== undefined;
}

/** The deployment was read with Corral's compose overlay among its files. */
export function hasCorralOverlay(d: Deployment): boolean {
  return d.services.some(isCorralGate) || d.networks.some(isCorralNetwork);
}
