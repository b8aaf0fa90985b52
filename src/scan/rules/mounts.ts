// Host paths mounted into containers: runtime sockets, the host root, system and credential
// directories, writable binds, shared propagation. (CIS Docker 5.5, 5.19, 5.31; KICS, Checkov
// CKV_K8S_27, Trivy KSV006/KSV023.)
import type { Container, Mount, Service } from "../../model/types.ts";
import type { Hit, RelatedLocation, Rule, RuleContext, Severity } from "../types.ts";
import { fieldPos } from "../where.ts";
import { hostPath, inCtr, perContainer, under } from "./util.ts";

const SOCKET = /(^|\/)(docker|containerd|podman|crio|cri-dockerd|buildkitd|dockershim)\.sock$/;

export function isRuntimeSocket(m: Mount): boolean {
  const src = hostPath(m);
  return (
    (src !== undefined && (SOCKET.test(src) || src === "/var/run/docker" || src === "/run/containerd")) ||
    SOCKET.test(m.target)
  );
}

const SYSTEM = [
  "/etc",
  "/proc",
  "/sys",
  "/boot",
  "/dev",
  "/var/run",
  "/run",
  "/var/lib/docker",
  "/var/lib/containerd",
  "/var/lib/kubelet",
  "/lib/modules",
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/var/log",
];
// Read-only time-zone files are the one common, harmless /etc bind.
const HARMLESS = ["/etc/localtime", "/etc/timezone"];

const CREDENTIALS = [
  "~/.ssh",
  "~/.aws",
  "~/.kube",
  "~/.docker",
  "~/.gnupg",
  "~/.azure",
  "~/.config/gcloud",
  "~/.git-credentials",
  "~/.netrc",
  "~/.npmrc",
  "~/.pypirc",
  "/etc/kubernetes",
];
const CRED_TAIL =
  /\/(\.ssh|\.aws|\.kube|\.docker|\.gnupg|\.azure|\.config\/gcloud|\.git-credentials|\.netrc|\.npmrc|\.pypirc)(\/|$)/;

// root's whole home is credentials, but not everything under it: the reader expands `~` with
// HOME, so a scan run as root sees `~/.openhands` as /root/.openhands; what under /root is a
// credential is found by name (CRED_TAIL), as under any other home.
function isCredentials(p: string): boolean {
  return p === "/root" || CREDENTIALS.some((c) => under(p, c)) || CRED_TAIL.test(p);
}

function isHome(p: string): boolean {
  return p === "~" || p === "/home" || /^\/home\/[^/]+$/.test(p) || p === "/Users" || /^\/Users\/[^/]+$/.test(p);
}

function mountHits(
  ctx: RuleContext,
  match: (path: string, m: Mount) => boolean,
  message: (path: string, m: Mount) => string,
  severity?: (m: Mount) => Severity | undefined,
  /** "mount" when the fix is on the mount itself (readOnly), not on the host path it names. */
  fixAt: "source" | "mount" = "source",
): Hit[] {
  return perContainer(ctx, (s: Service, c: Container) =>
    c.mounts.flatMap((m) => {
      const p = hostPath(m);
      if (p === undefined || !match(p, m)) return [];
      const sev = severity?.(m);
      const site =
        fixAt === "mount" && s.platform === "kubernetes" ? { pos: m.pos, related: volumeAt(m) } : sourceSite(s, c, m);
      return [{ service: s, message: message(p, m) + inCtr(s, c), ...site, ...(sev ? { severity: sev } : {}) }];
    }),
  );
}

/**
 * Where a finding about the host path goes. A long-syntax compose volume names it on its
 * `source:` line, short syntax on its one line. A Kubernetes mount only names a pod volume: the
 * host path is chosen at the volume's `hostPath:`, so the finding points there and the
 * `volumeMounts` item that uses it becomes a related location.
 */
export function sourceSite(s: Service, c: Container, m: Mount): Pick<Hit, "pos" | "related"> {
  if (s.platform === "compose") return { pos: fieldPos(s, m.pos, "source") };
  if (!m.volume) return { pos: m.pos };
  return { pos: m.volume.pos, related: [mountedAt(s, c, m)] };
}

/** The mount as a related location, for findings whose fix is on the volume. */
export function mountedAt(s: Service, c: Container, m: Mount): RelatedLocation {
  const by = s.containers.length > 1 ? ` by container "${c.name}"` : "";
  return { pos: m.pos, message: `mounted${by} at ${m.target}${m.readOnly ? " (read-only)" : ""}` };
}

/** The pod volume as a related location, for findings whose fix is on the mount (readOnly, propagation). */
function volumeAt(m: Mount): RelatedLocation[] {
  return m.volume ? [{ pos: m.volume.pos, message: `volume ${m.volume.name}${m.source ? `: ${m.source}` : ""}` }] : [];
}

const mode = (m: Mount) => (m.readOnly ? "read-only" : "read-write");

export const mountRules: Rule[] = [
  {
    id: "CRL-M001",
    title: "Container runtime socket mounted",
    severity: "critical",
    family: "mounts",
    cwe: "CWE-250",
    platforms: ["compose", "kubernetes"],
    rationale:
      "The Docker/containerd/Podman socket is the runtime's full API: whoever can talk to it starts a privileged container with / mounted. Read-only does not help — it only stops deleting the socket file, not using it.",
    fix: "# remove the socket mount; if the service must start containers, give it a socket proxy\n# that allows only the calls it needs (e.g. tecnativa/docker-socket-proxy with CONTAINERS=1, POST=0)\n# on an internal network, or run it in a separate sandboxed runtime",
    references: ["CIS Docker 5.31", "KICS", "Checkov CKV_K8S_27", "Trivy KSV006"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.mounts.filter(isRuntimeSocket).map((m) => ({
          service: s,
          message: `mounts the container runtime socket ${m.source ?? m.target} (${mode(m)}${m.readOnly ? " still grants the full API" : ""})${inCtr(s, c)}: root on the host`,
          ...sourceSite(s, c, m),
        })),
      ),
  },
  {
    id: "CRL-M002",
    title: "Host root filesystem mounted",
    severity: "critical",
    family: "mounts",
    cwe: "CWE-668",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Mounting / gives the container every host file: credentials, the Docker socket, /etc/shadow, other containers' data.",
    fix: "# mount only the directory the service needs, read-only\nvolumes:\n  - ./data:/data:ro",
    references: ["CIS Docker 5.5", "KICS", "Trivy KSV023"],
    check: (ctx) =>
      mountHits(
        ctx,
        (p) => p === "/",
        (_p, m) => `mounts the host root / at ${m.target} (${mode(m)})`,
      ),
  },
  {
    id: "CRL-M003",
    title: "Sensitive host system path mounted",
    severity: "high",
    family: "mounts",
    cwe: "CWE-668",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Host /etc, /proc, /sys, /dev, /run, /var/lib/docker and similar paths expose host configuration, kernel tunables and other containers' state.",
    fix: "# do not mount host system directories; pass configuration as a file of its own, read-only\nvolumes:\n  - ./config/app.conf:/etc/app/app.conf:ro",
    references: ["CIS Docker 5.5", "KICS", "Trivy KSV023"],
    check: (ctx) =>
      mountHits(
        ctx,
        (p, m) =>
          p !== "/" &&
          !isRuntimeSocket(m) &&
          SYSTEM.some((x) => under(p, x)) &&
          !(m.readOnly && HARMLESS.some((h) => under(p, h))),
        (p, m) => `mounts host ${p} at ${m.target} (${mode(m)})`,
        (m) => (m.readOnly ? "medium" : undefined),
      ),
  },
  {
    id: "CRL-M004",
    title: "Host credentials mounted",
    severity: "high",
    family: "mounts",
    cwe: "CWE-522",
    platforms: ["compose", "kubernetes"],
    rationale:
      "SSH keys, cloud and registry credentials mounted into an agent container are one prompt injection away from being exfiltrated.",
    fix: "# pass a scoped, short-lived credential as a secret instead of the host's files\nsecrets:\n  - git_token",
    references: ["CIS Docker 5.5", "KICS"],
    check: (ctx) =>
      mountHits(
        ctx,
        (p) => isCredentials(p),
        (p, m) => `mounts host credentials ${p} at ${m.target} (${mode(m)})`,
      ),
  },
  {
    id: "CRL-M005",
    title: "Host home directory mounted",
    severity: "medium",
    family: "mounts",
    cwe: "CWE-668",
    platforms: ["compose", "kubernetes"],
    rationale: "A whole home directory contains credentials, shell history and source trees the service does not need.",
    fix: "# mount a dedicated project directory instead\nvolumes:\n  - ./workspace:/workspace",
    references: ["CIS Docker 5.5", "KICS"],
    check: (ctx) =>
      mountHits(
        ctx,
        (p) => isHome(p),
        (p, m) => `mounts the home directory ${p} at ${m.target} (${mode(m)})`,
      ),
  },
  {
    id: "CRL-M006",
    title: "Writable host bind mount",
    severity: "low",
    family: "mounts",
    cwe: "CWE-732",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A writable bind lets a compromised container change files the host (or other containers) will later read or execute.",
    fix: "volumes:\n  - ./config:/config:ro   # add :ro, or use a named volume for data",
    references: ["CIS Docker 5.5", "KICS", "Trivy"],
    check: (ctx) =>
      mountHits(
        ctx,
        (p, m) => !m.readOnly && !isRuntimeSocket(m) && p !== "/",
        (p, m) => `bind-mounts host ${p} at ${m.target} read-write`,
        undefined,
        "mount",
      ),
  },
  {
    id: "CRL-M007",
    title: "Shared mount propagation",
    severity: "medium",
    family: "mounts",
    cwe: "CWE-668",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Shared (or Bidirectional) propagation lets mounts made inside the container appear on the host, and the reverse.",
    fix: "# compose: drop `propagation: shared|rshared`\n# kubernetes: mountPropagation: None",
    references: ["CIS Docker 5.19", "KICS"],
    check: (ctx) =>
      perContainer(ctx, (s, c) =>
        c.mounts
          .filter((m) => m.propagation && /^(r?shared|bidirectional)$/i.test(m.propagation))
          .map((m) => ({
            service: s,
            message: `mount ${m.target} uses ${m.propagation} propagation${inCtr(s, c)}`,
            pos: m.pos,
            related: volumeAt(m),
          })),
      ),
  },
];
