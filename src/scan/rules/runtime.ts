// Runtime isolation: privileged mode, host namespaces, seccomp/AppArmor, privilege escalation,
// root user, writable root filesystem, devices. (CIS Docker 5.1, 5.4, 5.9, 5.12, 5.15–5.17,
// 5.20, 5.21, 5.25, 5.30; KICS/Checkov/Trivy/kubesec equivalents.)
import type { Service } from "../../model/types.ts";
import type { Rule } from "../types.ts";
import { containerPos, itemPos, servicePos } from "../where.ts";
import { inCtr, perContainer, perService } from "./util.ts";

function hostNamespace(
  id: string,
  ns: "pid" | "ipc" | "uts" | "userns",
  composeKey: string,
  k8sKey: string | undefined,
  severity: Rule["severity"],
  what: string,
  cis: string,
): Rule {
  const label = ns === "userns" ? "user" : ns.toUpperCase();
  return {
    id,
    title: `Shares the host's ${label} namespace`,
    severity,
    family: "runtime",
    cwe: "CWE-653",
    platforms: k8sKey ? ["compose", "kubernetes"] : ["compose"],
    rationale: `With the host's ${label} namespace the container ${what}.`,
    fix: k8sKey
      ? `# compose: remove \`${composeKey}: host\`\n# kubernetes:\n${k8sKey}: false`
      : `# remove\n${composeKey}: host`,
    references: [`CIS Docker ${cis}`, "KICS", ...(k8sKey ? ["kubesec", "Checkov"] : [])],
    check: (ctx) =>
      perService(ctx, (s: Service) =>
        s[ns] === "host"
          ? {
              service: s,
              message: `${s.platform === "kubernetes" && k8sKey ? `${k8sKey}: true` : `${composeKey}: host`} — ${what}`,
              pos: servicePos(s, [composeKey], k8sKey ? [k8sKey] : []),
            }
          : undefined,
      ),
  };
}

function securityOptIndex(opts: string[], key: string, value?: string): number {
  return opts.findIndex((o) => {
    const [k, v] = o.split(/[:=]/, 2);
    return k?.trim() === key && (value === undefined || v?.trim() === value);
  });
}

const ROOT = /^(root|0)(:.*)?$/;

export const runtimeRules: Rule[] = [
  {
    id: "CRL-R001",
    title: "Privileged container",
    severity: "critical",
    family: "runtime",
    cwe: "CWE-250",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A privileged container has every capability, every device and no seccomp/AppArmor confinement: a process inside it is root on the host.",
    fix: "# compose: remove `privileged: true`; add only the capabilities you need\ncap_drop: [ALL]\ncap_add: [NET_BIND_SERVICE]\n# kubernetes:\nsecurityContext:\n  privileged: false",
    references: ["CIS Docker 5.4", "KICS", "Checkov CKV_K8S_16", "kubesec Privileged"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.privileged
          ? {
              service: s,
              message: `runs privileged${inCtr(s, c)}: root on the host`,
              pos: containerPos(s, c, ["privileged"], ["securityContext.privileged"]),
            }
          : undefined,
      ),
  },
  {
    id: "CRL-R002",
    title: "Uses the host's network namespace",
    severity: "high",
    family: "runtime",
    cwe: "CWE-653",
    platforms: ["compose", "kubernetes"],
    rationale:
      "With host networking the container binds the host's interfaces, reaches every host-local service (Docker API, databases on 127.0.0.1) and escapes any per-network firewall.",
    fix: "# compose: remove `network_mode: host`, join a named network\nnetworks: [backend]\n# kubernetes:\nhostNetwork: false",
    references: ["CIS Docker 5.9", "KICS", "Checkov CKV_K8S_19", "kubesec HostNetwork"],
    check: (ctx) =>
      perService(ctx, (s) =>
        s.networkMode.kind === "host"
          ? {
              service: s,
              message:
                s.platform === "kubernetes"
                  ? "hostNetwork: true — shares the node's network stack"
                  : "network_mode: host — shares the host's network stack, bypassing network isolation",
              pos: servicePos(s, ["network_mode"], ["hostNetwork"]),
            }
          : undefined,
      ),
  },
  hostNamespace(
    "CRL-R003",
    "pid",
    "pid",
    "hostPID",
    "high",
    "sees and can signal or ptrace every host process",
    "5.15",
  ),
  hostNamespace(
    "CRL-R004",
    "ipc",
    "ipc",
    "hostIPC",
    "medium",
    "shares System V IPC and /dev/shm with host processes",
    "5.16",
  ),
  hostNamespace("CRL-R005", "uts", "uts", undefined, "low", "can change the host's hostname", "5.20"),
  hostNamespace(
    "CRL-R006",
    "userns",
    "userns_mode",
    undefined,
    "medium",
    "runs without user-namespace remapping: container root is host root",
    "5.30",
  ),
  {
    id: "CRL-R007",
    title: "Seccomp disabled",
    severity: "high",
    family: "runtime",
    cwe: "CWE-693",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Seccomp unconfined exposes the full kernel syscall surface (keyctl, bpf, userfaultfd, mount …), the usual path of container escapes.",
    fix: "# compose: remove `seccomp:unconfined` (Docker's default profile applies)\n# kubernetes:\nsecurityContext:\n  seccompProfile:\n    type: RuntimeDefault",
    references: ["CIS Docker 5.21", "KICS", "Checkov CKV_K8S_31", "kube-score"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        if (c.seccomp !== "unconfined") return undefined;
        const i = securityOptIndex(c.securityOpt, "seccomp", "unconfined");
        return {
          service: s,
          message: `seccomp is unconfined${inCtr(s, c)}`,
          pos:
            i >= 0
              ? itemPos(s, c, "security_opt", "", i)
              : containerPos(
                  s,
                  c,
                  ["security_opt"],
                  ["securityContext.seccompProfile.type", "securityContext.seccompProfile"],
                ),
        };
      }),
  },
  {
    id: "CRL-R008",
    title: "AppArmor disabled",
    severity: "medium",
    family: "runtime",
    cwe: "CWE-693",
    platforms: ["compose", "kubernetes"],
    rationale:
      "AppArmor unconfined removes the mandatory access control that blocks writes to /proc and /sys and mounts.",
    fix: "# compose: remove `apparmor:unconfined`\n# kubernetes:\nsecurityContext:\n  appArmorProfile:\n    type: RuntimeDefault",
    references: ["CIS Docker 5.1", "KICS", "Checkov"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        if (c.apparmor !== "unconfined") return undefined;
        const i = securityOptIndex(c.securityOpt, "apparmor", "unconfined");
        return {
          service: s,
          message: `AppArmor is unconfined${inCtr(s, c)}`,
          pos:
            i >= 0
              ? itemPos(s, c, "security_opt", "", i)
              : containerPos(
                  s,
                  c,
                  ["security_opt"],
                  ["securityContext.appArmorProfile.type", "securityContext.appArmorProfile"],
                ),
        };
      }),
  },
  {
    id: "CRL-R009",
    title: "Privilege escalation not blocked",
    severity: "medium",
    family: "runtime",
    cwe: "CWE-269",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Without no-new-privileges a process can gain privileges through setuid binaries or file capabilities inside the image.",
    fix: "# compose:\nsecurity_opt:\n  - no-new-privileges:true\n# kubernetes:\nsecurityContext:\n  allowPrivilegeEscalation: false",
    references: ["CIS Docker 5.25", "KICS", "Checkov CKV_K8S_20", "kubesec AllowPrivilegeEscalation"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        if (c.noNewPrivileges) return undefined;
        if (s.platform === "kubernetes") {
          const pos = containerPos(s, c, [], ["securityContext.allowPrivilegeEscalation"]);
          const explicit = pos !== c.pos && pos !== s.pos;
          return {
            service: s,
            message: explicit
              ? `allowPrivilegeEscalation: true${inCtr(s, c)}`
              : `allowPrivilegeEscalation is not set to false${inCtr(s, c)}`,
            pos,
          };
        }
        const i = securityOptIndex(c.securityOpt, "no-new-privileges");
        return {
          service: s,
          message:
            i >= 0
              ? "no-new-privileges is disabled"
              : "no `no-new-privileges:true` in security_opt: setuid binaries can escalate",
          pos: i >= 0 ? itemPos(s, c, "security_opt", "", i) : containerPos(s, c, ["security_opt"]),
        };
      }),
  },
  {
    id: "CRL-R010",
    title: "Runs as root",
    severity: "medium",
    family: "runtime",
    cwe: "CWE-250",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Root inside the container is root on the host's files it can reach (bind mounts, sockets) and turns any escape into host root.",
    fix: '# compose:\nuser: "1000:1000"\n# kubernetes:\nsecurityContext:\n  runAsNonRoot: true\n  runAsUser: 1000',
    references: ["CIS Docker 4.1", "KICS", "Checkov CKV_K8S_23", "kube-score container-security-context-user-group-id"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        if (c.runAsNonRoot === true) return undefined;
        if (c.user !== undefined && !ROOT.test(c.user.trim())) return undefined;
        const explicit = c.user !== undefined;
        return {
          service: s,
          message: explicit
            ? `runs as root (user: ${c.user})${inCtr(s, c)}`
            : `no user set${inCtr(s, c)}: runs as the image default, usually root`,
          pos: explicit
            ? containerPos(s, c, ["user"], ["securityContext.runAsUser"])
            : containerPos(s, c, [], ["securityContext.runAsNonRoot"]),
        };
      }),
  },
  {
    id: "CRL-R011",
    title: "Writable root filesystem",
    severity: "low",
    family: "runtime",
    cwe: "CWE-732",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A writable root filesystem lets an attacker drop tools and persist inside the container; read-only plus tmpfs for scratch space prevents it.",
    fix: "# compose:\nread_only: true\ntmpfs: [/tmp]\n# kubernetes:\nsecurityContext:\n  readOnlyRootFilesystem: true",
    references: ["CIS Docker 5.12", "KICS", "Checkov CKV_K8S_22", "kubesec ReadOnlyRootFilesystem"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.readOnlyRootfs
          ? undefined
          : {
              service: s,
              message: `root filesystem is writable${inCtr(s, c)}`,
              pos: containerPos(s, c, ["read_only"], ["securityContext.readOnlyRootFilesystem"]),
            },
      ),
  },
  {
    id: "CRL-R012",
    title: "Host device mapped into the container",
    severity: "medium",
    family: "runtime",
    cwe: "CWE-250",
    platforms: ["compose"],
    rationale:
      "A host device node gives raw access to hardware (disks, /dev/mem, GPUs) bypassing the kernel's file permissions.",
    fix: "# remove the `devices:` entry, or map only the specific device read-only\ndevices:\n  - /dev/fuse:/dev/fuse:r",
    references: ["CIS Docker 5.17", "KICS"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.devices.map((dev, i) => ({
          service: s,
          message: `maps host device ${dev}`,
          pos: itemPos(s, c, "devices", "", i),
        })),
      ),
  },
];
