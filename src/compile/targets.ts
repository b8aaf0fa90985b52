// Every compile target by name: (policy, deployment) → files (name → text).
import type { Deployment } from "../model/types.ts";
import type { Policy } from "../policy/index.ts";
import { compileCilium } from "./cilium.ts";
import { compileComposeOverlay, type OverlayOptions } from "./compose-overlay.ts";
import { compileKubernetes } from "./kubernetes.ts";
import { compileNftables, type NftOptions } from "./nftables.ts";
import { compileTraefik } from "./traefik.ts";

export const TARGETS = ["compose", "nftables", "kubernetes", "cilium", "traefik"] as const;
export type Target = (typeof TARGETS)[number];

export type CompileOptions = OverlayOptions & NftOptions;

export function compileTarget(
  target: Target,
  policy: Policy,
  d: Deployment,
  options: CompileOptions = {},
): Record<string, string> {
  switch (target) {
    case "compose":
      return compileComposeOverlay(policy, d, options);
    case "nftables":
      return compileNftables(policy, d, options);
    case "kubernetes":
      return compileKubernetes(policy, d);
    case "cilium":
      return compileCilium(policy, d);
    case "traefik":
      return compileTraefik(policy, d);
  }
}
