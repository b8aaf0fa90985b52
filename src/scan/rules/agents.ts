// Agent-stack specifics: agents that can reach the whole internet, resolve any name, the cloud
// metadata endpoint or the host, and services that execute generated code without isolation.
import { isCorralGate } from "../../model/corral-marks.ts";
import type { Service } from "../../model/types.ts";
import { idOf } from "../ids.ts";
import type { Rule, RuleContext } from "../types.ts";
import { itemPos } from "../where.ts";
import { isRuntimeSocket } from "./mounts.ts";
import { perService, tierOfService } from "./util.ts";

const CODE_EXEC =
  /(^|[/_.-])(sandbox|code-?interpreter|interpreter|runtime|executor|jupyter|notebook|e2b|judge0|piston|code-?server)([/:_.-]|$)/i;

function proxied(s: Service): boolean {
  return s.containers.some((c) =>
    c.env.some((e) => /^(https?_proxy|all_proxy)$/i.test(e.name) && e.value !== undefined && e.value.trim() !== ""),
  );
}

function internet(ctx: RuleContext, s: Service): { internet: boolean; reason: string } | undefined {
  // Reaching the internet is the gate's job: it is the allowlisting way out the rules ask for.
  if (isCorralGate(s)) return undefined;
  return ctx.egressOf.get(idOf(s));
}

/** Executes code it did not ship with: a sandbox/interpreter image, or an agent driving the container runtime. */
export function executesCode(ctx: RuleContext, s: Service): string | undefined {
  for (const c of s.containers) {
    if (c.image && CODE_EXEC.test(c.image)) return `image ${c.image}`;
  }
  if (CODE_EXEC.test(s.name)) return `name ${s.name}`;
  if (tierOfService(ctx, s) === "agents" && s.containers.some((c) => c.mounts.some(isRuntimeSocket)))
    return "an agent with the container runtime socket";
  return undefined;
}

function openEgress(ctx: RuleContext, s: Service): string | undefined {
  const eg = internet(ctx, s);
  if (!eg?.internet || proxied(s)) return undefined;
  return eg.reason;
}

export const agentRules: Rule[] = [
  {
    id: "CRL-A001",
    title: "Agent has unrestricted internet egress",
    severity: "high",
    family: "agents",
    cwe: "CWE-200",
    platforms: ["compose", "kubernetes"],
    rationale:
      "An agent that can open connections anywhere can be steered (prompt injection, a malicious tool) into exfiltrating data or fetching payloads. Egress should go through an allowlisting gate.",
    fix: "networks:\n  agents: { internal: true }   # no direct route out\nservices:\n  worker:\n    networks: [agents]\n    environment:\n      - HTTPS_PROXY=http://corral-gate:3128   # the only way out, allowlisted",
    references: ["OWASP LLM06 Excessive Agency", "corral"],
    check: (ctx) =>
      perService(ctx, (s) => {
        if (tierOfService(ctx, s) !== "agents") return undefined;
        const why = openEgress(ctx, s);
        return why
          ? { service: s, message: `can reach the whole internet directly (${why}; no HTTP(S)_PROXY)`, pos: s.pos }
          : undefined;
      }),
  },
  {
    id: "CRL-A002",
    title: "Agent DNS not pinned",
    severity: "low",
    family: "agents",
    cwe: "CWE-350",
    platforms: ["compose"],
    rationale:
      "With the engine's default resolver an agent resolves any name, so DNS itself becomes an exfiltration channel and allowlists by name can be bypassed. Pin `dns:` to the gate's resolver.",
    fix: "dns: [172.30.0.53]   # the corral gate's DNS allowlist resolver",
    references: ["corral"],
    check: (ctx) =>
      perService(ctx, (s) => {
        if (s.platform !== "compose" || tierOfService(ctx, s) !== "agents" || s.dns.length > 0) return undefined;
        if (!internet(ctx, s)?.internet) return undefined;
        return {
          service: s,
          message: "resolves any name through the engine's default DNS (no `dns:` pinned to an allowlisting resolver)",
          pos: s.pos,
        };
      }),
  },
  {
    id: "CRL-A003",
    title: "Code-executing service without isolation",
    severity: "critical",
    family: "agents",
    cwe: "CWE-94",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Sandboxes, code interpreters and agent runtimes execute model-generated code. Without isolation (no runtime socket, not privileged, no direct internet, capabilities dropped) that code owns the host or the network.",
    fix: "# run generated code through `corral run` or a gVisor/Kata runtime:\nruntime: runsc\nprivileged: false\ncap_drop: [ALL]\nnetworks: [sandbox]   # internal: true, egress only via the gate\n# and never mount /var/run/docker.sock",
    references: ["OWASP LLM05", "corral"],
    check: (ctx) =>
      perService(ctx, (s) => {
        const what = executesCode(ctx, s);
        if (!what) return undefined;
        const gaps: string[] = [];
        const critical = s.containers.some((c) => c.privileged || c.mounts.some(isRuntimeSocket));
        if (s.containers.some((c) => c.privileged)) gaps.push("privileged");
        if (s.containers.some((c) => c.mounts.some(isRuntimeSocket))) gaps.push("runtime socket mounted");
        if (openEgress(ctx, s)) gaps.push("direct internet egress");
        if (s.containers.some((c) => !c.capDrop.some((x) => x.toUpperCase() === "ALL")))
          gaps.push("capabilities not dropped");
        if (s.networkMode.kind === "host") gaps.push("host network");
        if (gaps.length === 0) return undefined;
        return {
          service: s,
          message: `executes code (${what}) without isolation: ${gaps.join(", ")}`,
          pos: s.pos,
          ...(critical ? {} : { severity: "high" as const }),
        };
      }),
  },
  {
    id: "CRL-A004",
    title: "Cloud metadata endpoint reachable",
    severity: "high",
    family: "agents",
    cwe: "CWE-918",
    platforms: ["compose", "kubernetes"],
    rationale:
      "On a cloud VM 169.254.169.254 hands out the instance's IAM credentials; an agent with direct egress can be asked to fetch them (SSRF).",
    fix: "# route egress through the corral gate (its SSRF floor denies link-local), or block it on the host:\n# nft add rule inet filter forward ip daddr 169.254.169.254 drop",
    references: ["CWE-918", "OWASP SSRF", "corral"],
    check: (ctx) =>
      perService(ctx, (s) => {
        const tier = tierOfService(ctx, s);
        if (tier !== "agents" && !executesCode(ctx, s)) return undefined;
        if (!openEgress(ctx, s)) return undefined;
        return {
          service: s,
          message: "can reach the cloud metadata endpoint 169.254.169.254 (direct egress, no SSRF floor)",
          pos: s.pos,
        };
      }),
  },
  {
    id: "CRL-A005",
    title: "Host reachable through host-gateway",
    severity: "medium",
    family: "agents",
    cwe: "CWE-918",
    platforms: ["compose"],
    rationale:
      "`host.docker.internal:host-gateway` gives the container a route to every service listening on the host, including ones bound to 127.0.0.1-only assumptions such as Ollama or the Docker API on tcp.",
    fix: "# remove the extra_hosts entry; expose the one host service the container needs through a network of its own",
    references: ["corral"],
    check: (ctx) =>
      perService(ctx, (s) =>
        s.extraHosts.flatMap((h, i) =>
          /host-gateway/.test(h)
            ? [
                {
                  service: s,
                  message: `extra_hosts ${h} opens a route to services on the host`,
                  pos: s.containers[0] ? itemPos(s, s.containers[0], "extra_hosts", "", i) : s.pos,
                },
              ]
            : [],
        ),
      ),
  },
];
