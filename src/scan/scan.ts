// The scan pipeline as one pure function: rules → inline suppressions → baseline → result.

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
  };
}

export function active(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => !f.suppressed);
}

export function failsAt(findings: readonly Finding[], threshold: Severity): boolean {
  return findings.some((f) => !f.suppressed && atLeast(f.severity, threshold));
}
