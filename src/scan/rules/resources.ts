// Limits, restarts and health: what keeps one runaway agent from taking the host down.
// (CIS Docker 5.10, 5.11, 5.28, 5.14, 4.6; Checkov CKV_K8S_10-13; kube-score container-resources.)
import type { Rule } from "../types.ts";
import { containerPos, servicePos } from "../where.ts";
import { inCtr, perContainer, perService } from "./util.ts";

export const resourceRules: Rule[] = [
  {
    id: "CRL-L001",
    title: "No memory limit",
    severity: "medium",
    family: "resources",
    cwe: "CWE-770",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Without a memory limit one container (a model loading, an agent in a loop) can exhaust host memory and get others OOM-killed.",
    fix: "# compose:\ndeploy:\n  resources:\n    limits: { memory: 1g }\n# kubernetes:\nresources:\n  limits: { memory: 1Gi }",
    references: ["CIS Docker 5.10", "Checkov CKV_K8S_13", "kube-score container-resources"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.resources.memory
          ? undefined
          : {
              service: s,
              message: `no memory limit${inCtr(s, c)}`,
              pos: containerPos(
                s,
                c,
                ["deploy.resources.limits", "deploy.resources", "deploy"],
                ["resources.limits", "resources"],
              ),
            },
      ),
  },
  {
    id: "CRL-L002",
    title: "No CPU limit",
    severity: "low",
    family: "resources",
    cwe: "CWE-770",
    platforms: ["compose", "kubernetes"],
    rationale: "Without a CPU limit a busy container starves the others, including the gate that enforces egress.",
    fix: "# compose:\ndeploy:\n  resources:\n    limits: { cpus: '1.0' }\n# kubernetes:\nresources:\n  limits: { cpu: 1000m }",
    references: ["CIS Docker 5.11", "Checkov CKV_K8S_11", "kube-score container-resources"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.resources.cpus
          ? undefined
          : {
              service: s,
              message: `no CPU limit${inCtr(s, c)}`,
              pos: containerPos(
                s,
                c,
                ["deploy.resources.limits", "deploy.resources", "deploy"],
                ["resources.limits", "resources"],
              ),
            },
      ),
  },
  {
    id: "CRL-L003",
    title: "No PIDs limit",
    severity: "low",
    family: "resources",
    cwe: "CWE-400",
    platforms: ["compose"],
    rationale: "Without a PIDs limit a fork bomb in agent-generated code exhausts the host's process table.",
    fix: "deploy:\n  resources:\n    limits: { pids: 256 }\n# or: pids_limit: 256",
    references: ["CIS Docker 5.28", "KICS"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        s.platform !== "compose" || c.resources.pids
          ? undefined
          : {
              service: s,
              message: "no PIDs limit",
              pos: containerPos(s, c, ["pids_limit", "deploy.resources.limits", "deploy"]),
            },
      ),
  },
  {
    id: "CRL-L004",
    title: "Unbounded restart policy",
    severity: "low",
    family: "resources",
    cwe: "CWE-400",
    platforms: ["compose"],
    rationale:
      "`always` / `unless-stopped` (or on-failure without a count) restarts a crashing or compromised container forever, hiding the failure and repeating its effects.",
    fix: 'restart: "on-failure:5"',
    references: ["CIS Docker 5.14"],
    check: (ctx) =>
      perService(ctx, (s) => {
        if (s.platform !== "compose" || !s.restart) return undefined;
        const r = s.restart.trim();
        if (!(r === "always" || r === "unless-stopped" || r === "on-failure")) return undefined;
        return { service: s, message: `restart: ${r} has no retry limit`, pos: servicePos(s, ["restart"]) };
      }),
  },
  {
    id: "CRL-L005",
    title: "No healthcheck",
    severity: "low",
    family: "resources",
    cwe: "CWE-754",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Without a healthcheck (or liveness/readiness probe) a hung service keeps receiving traffic and dependants start before it is ready.",
    fix: '# compose:\nhealthcheck:\n  test: ["CMD", "curl", "-f", "http://localhost:8080/health"]\n  interval: 30s\n# kubernetes:\nlivenessProbe:\n  httpGet: { path: /health, port: 8080 }',
    references: ["CIS Docker 4.6", "Checkov CKV_K8S_8/9", "kube-score container-probes"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.healthcheck
          ? undefined
          : { service: s, message: `no healthcheck${inCtr(s, c)}`, pos: containerPos(s, c, []) },
      ),
  },
  {
    id: "CRL-L006",
    title: "Healthcheck disabled",
    severity: "low",
    family: "resources",
    cwe: "CWE-754",
    platforms: ["compose"],
    rationale: "`healthcheck: disable: true` (or test NONE) switches off the image's own healthcheck.",
    fix: '# remove `disable: true`, or give a real test\nhealthcheck:\n  test: ["CMD", "true"]',
    references: ["CIS Docker 4.6"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.healthcheck?.disabled
          ? { service: s, message: "healthcheck is disabled", pos: c.healthcheck.pos }
          : undefined,
      ),
  },
];
