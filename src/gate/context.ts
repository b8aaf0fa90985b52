// What a transport (DNS server, proxy) needs from the gate: the current policy snapshot, the
// shared resolver, and somewhere to publish decisions. Transports never decide on their own.
import type { Grant } from "./decide.ts";
import type { Resolver } from "./dns/resolver.ts";
import type { DecisionEvent } from "./events.ts";
import type { Limits } from "./limits.ts";
import type { PolicyIndex } from "./policy-index.ts";
import type { LeafCertificates } from "./tls/leaves.ts";
import type { UpstreamTrust } from "./tls/tls-upstream.ts";

/** What terminating a tunnel needs: the gate CA's leaves, the upstream roots, the real values. */
export interface Termination {
  leaves: LeafCertificates;
  trust: UpstreamTrust;
  /** a credential's real value, undefined when the gate has none */
  value(credential: string): string | undefined;
}

export interface Snapshot {
  index: PolicyIndex;
  grants: readonly Grant[];
  limits: Limits;
}

export interface GateContext {
  snapshot(): Snapshot;
  resolver: Resolver;
  /** `times` > 1: that many identical decisions (repeats answered together), each logged and counted. */
  publish(ev: DecisionEvent, times?: number): void;
  now(): number;
  /**
   * A source address no identity matched: a refresh of the clients' addresses to await before
   * deciding once more, or undefined when nothing new can be learned now.
   */
  identify?(sourceIp: string): Promise<void> | undefined;
  /**
   * Calls `listener` whenever the policy, the grants or the resolver change: anything that
   * remembers answers beyond one call (the DNS repeat table) forgets them there. Returns the
   * way to stop listening.
   */
  onChange?(listener: () => void): () => void;
  /** set once the policy has destinations to terminate (credentials, request rules) */
  termination?(): Termination | undefined;
}
