// The scan pipeline as one pure function: rules → inline suppressions → baseline → result.

import { hasCorralOverlay } from "../model/corral-marks.ts";
import type { Tier } from "../model/tiers.ts";
import type { Deployment, Reachability, ReachEdge } from "../model/types.ts";
import { compareFindings, contextOf, evaluate } from "./engine.ts";
import { undeclaredEdges } from "./rules/policy.ts";
import type { Sources } from "./sources.ts";
import { applyBaseline, applyInline, type BaselineEntry } from "./suppress.ts";
import { atLeast, type Finding, type PolicyView, type Rule, type Severity } from "./types.ts";

export interface ScanOptions {
  deployment: Deployment;
  reach: Reachability;
  sources: Sources;
  policy?: PolicyView;
  baseline?: { file: string; entries: BaselineEntry[] };
  rules?: readonly Rule[];
  /** The compiled ruleset `reach` was narrowed by (`out/corral.nft`), taken as in force. */
  hostRules?: string;
}

export interface ScanResult {
  deployment: Deployment;
  reach: Reachability;
  tiers: ReadonlyMap<string, Tier>;
  /** Every finding, suppressed ones marked; sorted by file, line, rule. */
  findings: Finding[];
  policy?: PolicyView;
  /** Reachability edges the policy does not declare (empty without a policy). */
  undeclared: ReachEdge[];
  /** What the reachability models, when a reader could take it for more (Corral's overlay is among the files). */
  scope?: string;
}

/**
 * With Corral's overlay the networks are only half of the containment: the flows between zones
 * are nftables rules on the host, which a scan of compose files cannot see. Saying so keeps its
 * reachability findings from reading as a contradiction of `corral verify`.
 */
export const OVERLAY_SCOPE =
  "Corral's overlay is among these files. scan models compose-level networks only, not the nftables host rules " +
  "(table inet corral) that hold the flows between zones and the gate-only egress: its reachability is what the " +
  "networks alone allow. For the enforced matrix, run: corral verify --lab --policy corral.yaml -f <compose file>; " +
  "to scan with the compiled host rules taken as in force, add --compiled <dir>";

/**
 * With `--compiled` the reachability is the host rules' and so agrees with verify's matrix; but it
 * is what the file says, not what a kernel does, which is verify's to prove.
 */
export function hostRulesScope(file: string): string {
  return (
    `Host rules from ${file} taken as in force: reachability is narrowed to the flows they allow and only ` +
    "the gate reaches the internet. Prove them with corral verify --lab / --live"
  );
}

export function scan(opts: ScanOptions): ScanResult {
  const base = {
    deployment: opts.deployment,
    reach: opts.reach,
    sources: opts.sources,
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.rules ? { rules: opts.rules } : {}),
  };
  const ctx = contextOf(base);
  let findings = applyInline(evaluate(base, ctx), opts.deployment.services, opts.sources);
  if (opts.baseline) findings = applyBaseline(findings, opts.baseline.entries, opts.baseline.file);
  return {
    deployment: opts.deployment,
    reach: opts.reach,
    tiers: ctx.tiers,
    findings: findings.sort(compareFindings),
    ...(opts.policy ? { policy: opts.policy } : {}),
    undeclared: opts.policy ? undeclaredEdges(ctx, opts.policy) : [],
    ...(opts.hostRules
      ? { scope: hostRulesScope(opts.hostRules) }
      : hasCorralOverlay(opts.deployment)
        ? { scope: OVERLAY_SCOPE }
        : {}),
  };
}

export function active(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => !f.suppressed);
}

export function failsAt(findings: readonly Finding[], threshold: Severity): boolean {
  return findings.some((f) => !f.suppressed && atLeast(f.severity, threshold));
}
