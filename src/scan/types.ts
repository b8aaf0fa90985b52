// The scanner's vocabulary: a rule inspects a Deployment (plus its reachability and, when
// given, a policy) and returns hits; the engine turns hits into findings with a rule's metadata.

import type { Tier } from "../model/tiers.ts";
import type {
  Deployment,
  EgressCapability,
  PortRange,
  Reachability,
  ReachEdge,
  Service,
  SourcePos,
} from "../model/types.ts";
import type { Sources } from "./sources.ts";

export type Severity = "critical" | "high" | "medium" | "low" | "info";

/** Most severe first; the index is the rank used by --fail-on. */
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info"];

export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}

export type Family =
  | "runtime"
  | "capabilities"
  | "mounts"
  | "network"
  | "resources"
  | "secrets"
  | "images"
  | "kubernetes"
  | "agents"
  | "auth"
  | "traefik"
  | "policy"
  | "meta";

export interface RuleMeta {
  /** Stable id, never reused: `CRL-<family letter><3 digits>`. */
  id: string;
  title: string;
  severity: Severity;
  family: Family;
  /** e.g. "CWE-250". */
  cwe: string;
  platforms: ReadonlyArray<"compose" | "kubernetes">;
  /** Why it matters, in one or two sentences. */
  rationale: string;
  /** What to write instead (YAML snippet). */
  fix: string;
  /** Which well-known checks it corresponds to (KICS, Checkov, CIS Docker 5.x, kube-score …). */
  references?: string[];
}

/** A declared flow between two services, as resolved from a policy. */
export interface PolicyFlow {
  from: string;
  to: string;
  ports: PortRange[];
  flowIndex: number;
}

/**
 * What policy-aware rules need from a policy, already resolved against the deployment's
 * service names. Kept this small so the CLI can build it from the lead's policy module.
 */
export interface PolicyView {
  /** File the policy came from, for messages. */
  file: string;
  zoneOf(service: Service): string | undefined;
  flows: PolicyFlow[];
  /** Declared host publishes: service name and host port. */
  publishes?: Array<{ service: string; port: number }>;
  /** Volumes the policy seals (seal.volumes). */
  sealedVolumes?: string[];
}

export interface RuleContext {
  deployment: Deployment;
  reach: Reachability;
  tiers: ReadonlyMap<string, Tier>;
  /** Service by id (see ids.ts). */
  byId: ReadonlyMap<string, Service>;
  /** Reachability edges by target id, and egress by service id: indexes so rules stay linear. */
  edgesTo: ReadonlyMap<string, ReachEdge[]>;
  egressOf: ReadonlyMap<string, EgressCapability>;
  policy?: PolicyView;
  /** Source lines, when the shell read them: lets rules tell literal text from interpolation. */
  sources?: Sources;
}

/**
 * A second place in the files that belongs to a finding: where the offending value is used
 * when the finding points where it is defined (a hostPath volume and the mount that uses it),
 * or the other half of the fix (the port that publishes a store without authentication).
 */
export interface RelatedLocation {
  pos: SourcePos;
  /** What is at that place, e.g. "mounted here at /var/run/docker.sock". */
  message: string;
}

/** What a rule reports; the engine adds the rule's id/severity/title. */
export interface Hit {
  service: Service;
  message: string;
  /** Where the fix is written: the definition, not the use, when the two differ. */
  pos: SourcePos;
  /** When one rule spans severities (e.g. read-only vs writable socket). */
  severity?: Severity;
  related?: RelatedLocation[];
}

export interface Rule extends RuleMeta {
  check(ctx: RuleContext): Hit[];
}

export interface Suppression {
  by: "inline" | "baseline";
  reason: string;
  /** Where the inline comment is, or the baseline file. */
  pos?: SourcePos;
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  title: string;
  /** Service id: compose service name, or `namespace/name` for Kubernetes. */
  service: string;
  message: string;
  /** Primary location: where the fix is written. */
  pos: SourcePos;
  /** Other places the finding involves (SARIF relatedLocations). */
  related?: RelatedLocation[];
  /** Stable across line moves: hash of rule, service and the offending source text. */
  fingerprint: string;
  /** Compose profiles that start the service (empty or absent: always started). */
  profiles?: string[];
  suppressed?: Suppression;
}
