// Linux capabilities added or not dropped. (CIS Docker 5.3; KICS, Checkov CKV_K8S_28/37/39,
// kubesec CapSysAdmin, kube-score.)
import type { Container, Service } from "../../model/types.ts";
import type { Hit, Rule, RuleContext, Severity } from "../types.ts";
import { containerPos, itemPos } from "../where.ts";
import { inCtr, perContainer } from "./util.ts";

export function normCap(cap: string): string {
  return cap.trim().toUpperCase().replace(/^CAP_/, "");
}

function added(ctx: RuleContext, caps: string[]): Hit[] {
  return perContainer(ctx, (s: Service, c: Container) =>
    c.capAdd.flatMap((raw, i) =>
      caps.includes(normCap(raw))
        ? [
            {
              service: s,
              message: `adds capability ${normCap(raw)}${inCtr(s, c)}`,
              pos: itemPos(s, c, "cap_add", "securityContext.capabilities.add", i),
            },
          ]
        : [],
    ),
  );
}

function capRule(id: string, cap: string, severity: Severity, why: string): Rule {
  return {
    id,
    title: `Adds capability ${cap}`,
    severity,
    family: "capabilities",
    cwe: "CWE-250",
    platforms: ["compose", "kubernetes"],
    rationale: `${cap} ${why}`,
    fix: `# remove ${cap} from cap_add / securityContext.capabilities.add\ncap_drop: [ALL]\ncap_add: [NET_BIND_SERVICE]  # only what the process needs`,
    references: ["CIS Docker 5.3", "KICS", "Checkov CKV_K8S_39", "kubesec"],
    check: (ctx) => added(ctx, [cap]),
  };
}

const OTHER_SENSITIVE = [
  "SYS_RAWIO",
  "SYS_BOOT",
  "SYS_TIME",
  "SYS_RESOURCE",
  "SYS_CHROOT",
  "SYSLOG",
  "MKNOD",
  "BPF",
  "PERFMON",
  "DAC_OVERRIDE",
  "SETUID",
  "SETGID",
  "SETPCAP",
  "SETFCAP",
  "CHOWN",
  "FOWNER",
  "MAC_ADMIN",
  "MAC_OVERRIDE",
  "LINUX_IMMUTABLE",
  "AUDIT_CONTROL",
  "IPC_LOCK",
  "IPC_OWNER",
  "LEASE",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "CHECKPOINT_RESTORE",
];

export const capabilityRules: Rule[] = [
  capRule(
    "CRL-C001",
    "SYS_ADMIN",
    "critical",
    "allows mount, namespace and cgroup operations — the capability behind most container escapes (release_agent, mounting the host disk).",
  ),
  capRule(
    "CRL-C002",
    "NET_ADMIN",
    "high",
    "lets the container rewrite its firewall and routes, undoing egress containment.",
  ),
  capRule(
    "CRL-C003",
    "NET_RAW",
    "medium",
    "allows raw sockets: ARP/DNS spoofing of neighbours on the same bridge network.",
  ),
  capRule(
    "CRL-C004",
    "SYS_PTRACE",
    "high",
    "lets the container trace and inject code into other processes it can see.",
  ),
  capRule("CRL-C005", "SYS_MODULE", "critical", "loads kernel modules: arbitrary code in the host kernel."),
  capRule(
    "CRL-C006",
    "DAC_READ_SEARCH",
    "high",
    "bypasses file read permissions and enables open_by_handle_at (the Shocker escape).",
  ),
  capRule(
    "CRL-C007",
    "ALL",
    "critical",
    "grants every capability: equivalent to a privileged container without the device access.",
  ),
  {
    id: "CRL-C008",
    title: "Adds another sensitive capability",
    severity: "medium",
    family: "capabilities",
    cwe: "CWE-250",
    platforms: ["compose", "kubernetes"],
    rationale: `Capabilities such as ${OTHER_SENSITIVE.slice(0, 8).join(", ")} widen the kernel attack surface and are rarely needed by application containers.`,
    fix: "cap_drop: [ALL]\ncap_add: []  # add back only what the process needs, with a comment why",
    references: ["CIS Docker 5.3", "Checkov CKV_K8S_39"],
    check: (ctx) => added(ctx, OTHER_SENSITIVE),
  },
  {
    id: "CRL-C009",
    title: "Capabilities not dropped",
    severity: "low",
    family: "capabilities",
    cwe: "CWE-250",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Docker's default set still includes NET_RAW, CHOWN, DAC_OVERRIDE, SETUID and others; dropping ALL and adding back what is needed is the baseline.",
    fix: "# compose:\ncap_drop: [ALL]\n# kubernetes:\nsecurityContext:\n  capabilities:\n    drop: [ALL]",
    references: ["CIS Docker 5.3", "Checkov CKV_K8S_28/37", "kube-score", "kubesec"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.privileged || c.capDrop.some((x) => normCap(x) === "ALL")
          ? undefined
          : {
              service: s,
              message: `does not drop all capabilities${inCtr(s, c)} (${s.platform === "kubernetes" ? "no `capabilities.drop: [ALL]`" : "no `cap_drop: [ALL]`"})`,
              pos: containerPos(
                s,
                c,
                ["cap_drop"],
                ["securityContext.capabilities.drop", "securityContext.capabilities"],
              ),
            },
      ),
  },
];
