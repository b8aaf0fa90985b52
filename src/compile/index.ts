export { compileCilium } from "./cilium.ts";
export { compileComposeOverlay, renderOverlay } from "./compose-overlay.ts";
export { compileKubernetes } from "./kubernetes.ts";
export { applyRuleset, listCorralTable, NftError } from "./nft-apply.ts";
export { compileNftables, renderNftables } from "./nftables.ts";
export { buildPlan, DEFAULT_POOL, GATE, type Plan } from "./plan.ts";
export { type CompileOptions, compileTarget, TARGETS, type Target } from "./targets.ts";
export { compileTraefik } from "./traefik.ts";
