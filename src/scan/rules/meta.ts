// Findings about the scan's own inputs: suppressions that do not say why. The engine emits
// these (see suppress.ts); the entries here give them ids, docs and SARIF metadata.
import type { Rule } from "../types.ts";

export const SUPPRESSION_WITHOUT_REASON = "CRL-X001";
export const BASELINE_WITHOUT_REASON = "CRL-X002";

export const metaRules: Rule[] = [
  {
    id: SUPPRESSION_WITHOUT_REASON,
    title: "Inline suppression without a reason",
    severity: "low",
    family: "meta",
    cwe: "CWE-1078",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A suppression must say why the risk is accepted, so a reviewer can judge it later. Without a reason it does not suppress anything.",
    fix: "privileged: true  # corral-ignore CRL-R001: needs /dev/kvm for the VM sandbox, host is single-tenant",
    references: ["corral"],
    check: () => [],
  },
  {
    id: BASELINE_WITHOUT_REASON,
    title: "Baseline entry without a reason",
    severity: "low",
    family: "meta",
    cwe: "CWE-1078",
    platforms: ["compose", "kubernetes"],
    rationale: "A baseline entry must say why the finding is accepted. Without a reason it does not suppress anything.",
    fix: '{ "ruleId": "CRL-N001", "service": "proxy", "reason": "public reverse proxy, TLS terminated here" }',
    references: ["corral"],
    check: () => [],
  },
];
