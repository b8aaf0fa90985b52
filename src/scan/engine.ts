// Runs the rules over one deployment. Pure: the reachability, the policy view and the sources
// come in as values.
import { createHash } from "node:crypto";
import { classifyService, type Tier } from "../model/tiers.ts";
import type { Deployment, Reachability, ReachEdge } from "../model/types.ts";
import { RULES } from "./catalog.ts";
import { idOf } from "./ids.ts";
import { lineAt, type Sources } from "./sources.ts";
import type { Finding, PolicyView, Rule, RuleContext } from "./types.ts";

export interface EngineInput {
  deployment: Deployment;
  reach: Reachability;
  policy?: PolicyView;
  sources?: Sources;
  rules?: readonly Rule[];
}

export function contextOf(input: EngineInput): RuleContext {
  const tiers = new Map<string, Tier>();
  const byId = new Map(input.deployment.services.map((s) => [idOf(s), s]));
  for (const [id, s] of byId) tiers.set(id, classifyService(s));
  const edgesTo = new Map<string, ReachEdge[]>();
  for (const e of input.reach.edges) {
    const list = edgesTo.get(e.to);
    if (list) list.push(e);
    else edgesTo.set(e.to, [e]);
  }
  const egressOf = new Map(input.reach.egress.map((e) => [e.service, e]));
  return {
    deployment: input.deployment,
    reach: input.reach,
    tiers,
    byId,
    edgesTo,
    egressOf,
    ...(input.policy ? { policy: input.policy } : {}),
    ...(input.sources ? { sources: input.sources } : {}),
  };
}

/**
 * Stable across unrelated edits: the rule, the service and the offending line's text (trimmed),
 * plus an occurrence counter for identical lines. What SARIF's partialFingerprints carries.
 */
export function fingerprint(ruleId: string, service: string, lineText: string, occurrence: number): string {
  return createHash("sha256")
    .update(`${ruleId}\0${service}\0${lineText.trim()}\0${occurrence}`)
    .digest("hex")
    .slice(0, 32);
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    a.pos.file.localeCompare(b.pos.file) ||
    a.pos.line - b.pos.line ||
    a.pos.col - b.pos.col ||
    a.ruleId.localeCompare(b.ruleId) ||
    a.service.localeCompare(b.service) ||
    a.message.localeCompare(b.message)
  );
}

export function evaluate(input: EngineInput, ctx: RuleContext = contextOf(input)): Finding[] {
  const rules = input.rules ?? RULES;
  const out: Finding[] = [];
  const seen = new Map<string, number>();
  for (const rule of rules) {
    if (!rule.platforms.includes(input.deployment.platform)) continue;
    for (const hit of rule.check(ctx)) {
      const service = idOf(hit.service);
      const text = (input.sources && lineAt(input.sources, hit.pos.file, hit.pos.line)) ?? hit.message;
      const key = `${rule.id}\0${service}\0${text.trim()}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      out.push({
        ruleId: rule.id,
        severity: hit.severity ?? rule.severity,
        title: rule.title,
        service,
        message: hit.message,
        pos: hit.pos,
        ...(hit.related?.length ? { related: hit.related } : {}),
        fingerprint: fingerprint(rule.id, service, text, n),
        ...(hit.service.profiles.length > 0 ? { profiles: hit.service.profiles } : {}),
      });
    }
  }
  return out.sort(compareFindings);
}
