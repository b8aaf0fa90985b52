// Rules that compare the deployment with a corral.yaml. They only run when a policy is given;
// the CLI builds the PolicyView (zones and resolved flows) from src/policy.
import { isCorralGate } from "../../model/corral-marks.ts";
import type { PortRange, ReachEdge } from "../../model/types.ts";
import type { PolicyView, Rule, RuleContext } from "../types.ts";
import { perService } from "./util.ts";

function covers(declared: PortRange[], edge: ReachEdge): boolean {
  if (edge.ports === "all") return false;
  return edge.ports.every((p) => declared.some((d) => d.protocol === p.protocol && d.from <= p.from && d.to >= p.to));
}

/** Edges of the reachability graph no declared flow allows: the red arrows of the graph. */
export function undeclaredEdges(ctx: Pick<RuleContext, "reach" | "byId">, policy: PolicyView): ReachEdge[] {
  const byPair = new Map<string, PolicyView["flows"]>();
  for (const f of policy.flows) byPair.set(`${f.from}\0${f.to}`, [...(byPair.get(`${f.from}\0${f.to}`) ?? []), f]);
  return ctx.reach.edges.filter((e) => {
    if (!ctx.byId.has(e.from) || !ctx.byId.has(e.to)) return false;
    const flows = byPair.get(`${e.from}\0${e.to}`) ?? [];
    if (flows.length === 0) return true;
    // A flow with no ports means any port; otherwise the edge must stay within the declared ports.
    return !flows.some((f) => f.ports.length === 0 || covers(f.ports, e));
  });
}

function fmtPorts(e: ReachEdge): string {
  if (e.ports === "all") return "all ports";
  return e.ports.map((p) => `${p.from === p.to ? p.from : `${p.from}-${p.to}`}/${p.protocol}`).join(", ");
}

export const policyRules: Rule[] = [
  {
    id: "CRL-P001",
    title: "Reachability not declared in the policy",
    severity: "high",
    family: "policy",
    cwe: "CWE-923",
    platforms: ["compose", "kubernetes"],
    rationale:
      "The deployment lets one service open connections to another that corral.yaml does not allow: the file and reality disagree, and reality wins until `corral compile` is applied.",
    fix: "# either declare the flow in corral.yaml …\nflows:\n  - { from: api, to: postgres, ports: [5432/tcp] }\n# … or apply the compiled overlay so the deployment matches the policy:\n# corral compile --target compose-overlay",
    references: ["corral"],
    check: (ctx) => {
      const policy = ctx.policy;
      if (!policy) return [];
      return undeclaredEdges(ctx, policy).flatMap((e) => {
        const from = ctx.byId.get(e.from);
        if (!from) return [];
        const net = e.reasons.find((r) => r.kind === "network");
        const attach = net?.kind === "network" ? from.networks.find((n) => n.network === net.network) : undefined;
        return [
          {
            service: from,
            message: `can reach ${e.to} on ${fmtPorts(e)}, but ${policy.file} declares no such flow`,
            pos: attach?.pos ?? from.pos,
          },
        ];
      });
    },
  },
  {
    id: "CRL-P002",
    title: "Service in no zone",
    severity: "medium",
    family: "policy",
    cwe: "CWE-653",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A service the policy does not place in a zone is not covered by any flow or egress rule: compiled enforcement will isolate it completely, or (before compile) nothing constrains it.",
    fix: "zones:\n  agents: { services: [worker, new-service] }",
    references: ["corral"],
    check: (ctx) => {
      const policy = ctx.policy;
      if (!policy) return [];
      // Corral's gate is in no zone by design: the compiler adds it beside the zones.
      return perService(ctx, (s) =>
        policy.zoneOf(s) === undefined && !isCorralGate(s)
          ? { service: s, message: `is in no zone of ${policy.file}`, pos: s.pos }
          : undefined,
      );
    },
  },
  {
    id: "CRL-P003",
    title: "Published port not declared in the policy",
    severity: "medium",
    family: "policy",
    cwe: "CWE-668",
    platforms: ["compose"],
    rationale:
      "Host ports are part of the attack surface the policy describes (`publish:`); an undeclared one was opened without review.",
    fix: "publish:\n  - { service: proxy, port: 80/tcp, host: 127.0.0.1:3000 }",
    references: ["corral"],
    check: (ctx) => {
      const policy = ctx.policy;
      if (!policy?.publishes) return [];
      const declared = policy.publishes;
      return perService(ctx, (s) =>
        s.ports
          .filter(
            (p) => !declared.some((d) => d.service === s.name && d.port >= p.target.from && d.port <= p.target.to),
          )
          .map((p) => ({
            service: s,
            message: `publishes container port ${p.target.from}/${p.protocol}, which ${policy.file} does not declare`,
            pos: p.pos,
          })),
      );
    },
  },
];
