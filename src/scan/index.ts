export { classifyService, type Tier, tierOf } from "../model/tiers.ts";
export { parseBaseline, renderBaseline } from "./baseline.ts";
export { RULES, ruleById } from "./catalog.ts";
export { contextOf, evaluate } from "./engine.ts";
export { idOf } from "./ids.ts";
export { policyView } from "./policy-view.ts";
export { active, failsAt, type ScanOptions, type ScanResult, scan } from "./scan.ts";
export { lineAt, type Sources, sourcesFrom } from "./sources.ts";
export { applyBaseline, applyInline, type BaselineEntry, parseDirectives } from "./suppress.ts";
export type {
  Family,
  Finding,
  Hit,
  PolicyView,
  RelatedLocation,
  Rule,
  RuleContext,
  RuleMeta,
  Severity,
  Suppression,
} from "./types.ts";
export { atLeast, SEVERITIES } from "./types.ts";
