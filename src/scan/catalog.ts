// Every rule, in documentation order. Ids are stable: never renumber, only append.

import {
  agentRules,
  authRules,
  capabilityRules,
  imageRules,
  kubernetesRules,
  metaRules,
  mountRules,
  networkRules,
  policyRules,
  resourceRules,
  runtimeRules,
  sealedDataRules,
  secretRules,
  traefikRules,
} from "./rules/index.ts";
import type { Rule } from "./types.ts";

export const RULES: readonly Rule[] = [
  ...runtimeRules,
  ...capabilityRules,
  ...mountRules,
  ...networkRules,
  ...resourceRules,
  ...secretRules,
  ...imageRules,
  ...kubernetesRules,
  ...agentRules,
  ...authRules,
  ...traefikRules,
  ...policyRules,
  ...sealedDataRules,
  ...metaRules,
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}
