// One container (or init container) of a pod template → Container, with the pod-level
// securityContext inherited where Kubernetes inherits it.
import { InputError } from "../errors.ts";
import type { Container, EnvVar, Healthcheck, Mount, Protocol, PublishedPort } from "../types.ts";
import type { Fields } from "./fields.ts";
import { parseCpu, parseMemory } from "./quantity.ts";

export interface PodContext {
  /** Dotted path of the pod spec, e.g. `spec.template.spec`. */
  specPath: string;
  podSecurity: Record<string, unknown> | undefined;
  volumes: Map<string, { value: Record<string, unknown>; path: string }>;
  annotations: Record<string, unknown>;
}

export function protocolOf(f: Fields, v: unknown, path: string): Protocol {
  const s = f.str(v, path);
  if (s === undefined) return "tcp";
  const p = s.toLowerCase();
  if (p === "tcp" || p === "udp" || p === "sctp") return p;
  const pos = f.pos(path);
  throw new InputError(
    `${path}: expected TCP, UDP or SCTP, got ${JSON.stringify(s)}`,
    pos,
    "use one of TCP, UDP, SCTP",
  );
}

export function containerOf(
  f: Fields,
  c: Record<string, unknown>,
  path: string,
  pod: PodContext,
): { container: Container; hostPorts: PublishedPort[] } {
  const name = f.str(c["name"], `${path}.name`) ?? "";
  const sc = f.map(c["securityContext"], `${path}.securityContext`) ?? {};
  const psc = pod.podSecurity ?? {};
  const scPath = `${path}.securityContext`;
  const pscPath = `${pod.specPath}.securityContext`;
  const caps = f.map(sc["capabilities"], `${scPath}.capabilities`) ?? {};
  const runAsUser = f.int(sc["runAsUser"], `${scPath}.runAsUser`) ?? f.int(psc["runAsUser"], `${pscPath}.runAsUser`);
  const runAsNonRoot =
    f.bool(sc["runAsNonRoot"], `${scPath}.runAsNonRoot`) ?? f.bool(psc["runAsNonRoot"], `${pscPath}.runAsNonRoot`);
  const ape = f.bool(sc["allowPrivilegeEscalation"], `${scPath}.allowPrivilegeEscalation`);

  const hostPorts: PublishedPort[] = [];
  const listens: Container["listens"] = [];
  f.list(c["ports"], `${path}.ports`).forEach((raw, i) => {
    const pp = `${path}.ports.${i}`;
    const p = f.map(raw, pp) ?? {};
    const port = f.int(p["containerPort"], `${pp}.containerPort`);
    if (port === undefined) return;
    const protocol = protocolOf(f, p["protocol"], `${pp}.protocol`);
    const portName = f.str(p["name"], `${pp}.name`);
    listens.push(
      portName === undefined ? { from: port, to: port, protocol } : { from: port, to: port, protocol, name: portName },
    );
    const hostPort = f.int(p["hostPort"], `${pp}.hostPort`);
    if (hostPort !== undefined && hostPort > 0) {
      const hostIp = f.str(p["hostIP"], `${pp}.hostIP`);
      hostPorts.push({
        hostIp: hostIp ?? "0.0.0.0",
        hostIpDefaulted: hostIp === undefined,
        hostPort: { from: hostPort, to: hostPort },
        target: { from: port, to: port },
        protocol,
        pos: f.pos(pp),
      });
    }
  });

  const limits = f.map(f.map(c["resources"], `${path}.resources`)?.["limits"], `${path}.resources.limits`) ?? {};
  const resources: Container["resources"] = {};
  const mem = limits["memory"];
  if (typeof mem === "string" || typeof mem === "number") {
    const v = parseMemory(mem);
    if (v !== undefined) resources.memory = v;
  }
  const cpu = limits["cpu"];
  if (typeof cpu === "string" || typeof cpu === "number") {
    const v = parseCpu(cpu);
    if (v !== undefined) resources.cpus = v;
  }

  const container: Container = {
    name,
    build: false,
    privileged: f.bool(sc["privileged"], `${scPath}.privileged`) ?? false,
    capAdd: f
      .list(caps["add"], `${scPath}.capabilities.add`)
      .map((x, i) => String(f.str(x, `${scPath}.capabilities.add.${i}`))),
    capDrop: f
      .list(caps["drop"], `${scPath}.capabilities.drop`)
      .map((x, i) => String(f.str(x, `${scPath}.capabilities.drop.${i}`))),
    securityOpt: [],
    noNewPrivileges: ape === false,
    readOnlyRootfs: f.bool(sc["readOnlyRootFilesystem"], `${scPath}.readOnlyRootFilesystem`) ?? false,
    mounts: mountsOf(f, c, path, pod),
    devices: [],
    env: envOf(f, c, path),
    resources,
    listens,
    pos: f.pos(path),
  };
  const image = f.str(c["image"], `${path}.image`);
  if (image !== undefined) container.image = image;
  const argv = [
    ...f.list(c["command"], `${path}.command`).map(String),
    ...f.list(c["args"], `${path}.args`).map(String),
  ];
  if (argv.length > 0) container.command = argv;
  if (runAsUser !== undefined) container.user = String(runAsUser);
  if (runAsNonRoot !== undefined) container.runAsNonRoot = runAsNonRoot;
  const seccomp = seccompOf(f, sc, scPath, name, pod) ?? seccompOf(f, psc, pscPath, undefined, pod);
  if (seccomp) container.seccomp = seccomp;
  const apparmor = apparmorOf(f, sc, scPath, name, pod);
  if (apparmor) container.apparmor = apparmor;
  const hc = healthcheckOf(f, c, path);
  if (hc) container.healthcheck = hc;
  return { container, hostPorts };
}

type Confinement = "unconfined" | "default" | "profile";

function profileType(t: string | undefined): Confinement | undefined {
  if (t === "Unconfined") return "unconfined";
  if (t === "RuntimeDefault") return "default";
  if (t === "Localhost") return "profile";
  return undefined;
}

/** Legacy annotation values: `unconfined`, `runtime/default`, `docker/default`, `localhost/<p>`. */
function annotationProfile(v: unknown): Confinement | undefined {
  if (typeof v !== "string") return undefined;
  if (v === "unconfined") return "unconfined";
  if (v === "runtime/default" || v === "docker/default") return "default";
  if (v.startsWith("localhost/")) return "profile";
  return undefined;
}

function seccompOf(
  f: Fields,
  sc: Record<string, unknown>,
  scPath: string,
  container: string | undefined,
  pod: PodContext,
): Confinement | undefined {
  const prof = f.map(sc["seccompProfile"], `${scPath}.seccompProfile`);
  const fromField = profileType(f.str(prof?.["type"], `${scPath}.seccompProfile.type`));
  if (fromField) return fromField;
  const key =
    container === undefined
      ? "seccomp.security.alpha.kubernetes.io/pod"
      : `container.seccomp.security.alpha.kubernetes.io/${container}`;
  return annotationProfile(pod.annotations[key]);
}

function apparmorOf(
  f: Fields,
  sc: Record<string, unknown>,
  scPath: string,
  container: string,
  pod: PodContext,
): Confinement | undefined {
  const own = f.map(sc["appArmorProfile"], `${scPath}.appArmorProfile`);
  const fromField = profileType(f.str(own?.["type"], `${scPath}.appArmorProfile.type`));
  if (fromField) return fromField;
  const fromAnnotation = annotationProfile(
    pod.annotations[`container.apparmor.security.beta.kubernetes.io/${container}`],
  );
  if (fromAnnotation) return fromAnnotation;
  const pscPath = `${pod.specPath}.securityContext`;
  const podProf = f.map(pod.podSecurity?.["appArmorProfile"], `${pscPath}.appArmorProfile`);
  return profileType(f.str(podProf?.["type"], `${pscPath}.appArmorProfile.type`));
}

function mountsOf(f: Fields, c: Record<string, unknown>, path: string, pod: PodContext): Mount[] {
  return f.list(c["volumeMounts"], `${path}.volumeMounts`).map((raw, i) => {
    const mp = `${path}.volumeMounts.${i}`;
    const vm = f.map(raw, mp) ?? {};
    const volName = f.str(vm["name"], `${mp}.name`) ?? "";
    const vol = pod.volumes.get(volName);
    const mount: Mount = {
      type: "other",
      target: f.str(vm["mountPath"], `${mp}.mountPath`) ?? "",
      readOnly: f.bool(vm["readOnly"], `${mp}.readOnly`) ?? false,
      pos: f.pos(mp),
    };
    const hostPath = f.map(vol?.value["hostPath"], `${vol?.path}.hostPath`);
    if (vol) {
      const kind = Object.keys(vol.value).find((k) => k !== "name");
      mount.volume = { name: volName, pos: f.pos(kind ? `${vol.path}.${kind}` : vol.path) };
    }
    if (hostPath) {
      mount.type = "hostPath";
      const src = f.str(hostPath["path"], `${vol?.path}.hostPath.path`);
      if (src !== undefined) mount.source = src;
    } else {
      if (vol && "emptyDir" in vol.value) mount.type = "emptyDir";
      mount.source = volName;
    }
    const prop = f.str(vm["mountPropagation"], `${mp}.mountPropagation`);
    if (prop !== undefined) mount.propagation = prop;
    return mount;
  });
}

const VALUE_FROM: Array<[string, EnvVar["from"]]> = [
  ["secretKeyRef", "secretRef"],
  ["configMapKeyRef", "configMapRef"],
  ["fieldRef", "fieldRef"],
  ["resourceFieldRef", "fieldRef"],
];

function envOf(f: Fields, c: Record<string, unknown>, path: string): EnvVar[] {
  return f.list(c["env"], `${path}.env`).map((raw, i) => {
    const ep = `${path}.env.${i}`;
    const e = f.map(raw, ep) ?? {};
    const env: EnvVar = { name: f.str(e["name"], `${ep}.name`) ?? "", pos: f.pos(ep), from: "inline" };
    const valueFrom = f.map(e["valueFrom"], `${ep}.valueFrom`);
    if (valueFrom) {
      const hit = VALUE_FROM.find(([k]) => k in valueFrom);
      if (hit) env.from = hit[1];
    } else {
      env.value = f.str(e["value"], `${ep}.value`) ?? "";
    }
    return env;
  });
}

function healthcheckOf(f: Fields, c: Record<string, unknown>, path: string): Healthcheck | undefined {
  for (const key of ["livenessProbe", "readinessProbe", "startupProbe"]) {
    const pp = `${path}.${key}`;
    const probe = f.map(c[key], pp);
    if (!probe) continue;
    return { disabled: false, test: probeTest(f, probe, pp), pos: f.pos(pp) };
  }
  return undefined;
}

/** A probe as a compose-like test vector, so reports can show what is checked. */
function probeTest(f: Fields, probe: Record<string, unknown>, pp: string): string[] {
  const exec = f.map(probe["exec"], `${pp}.exec`);
  if (exec) return ["CMD", ...f.list(exec["command"], `${pp}.exec.command`).map((x) => String(x))];
  const http = f.map(probe["httpGet"], `${pp}.httpGet`);
  if (http) return ["HTTP-GET", `${String(http["port"] ?? "")}${String(http["path"] ?? "/")}`];
  const tcp = f.map(probe["tcpSocket"], `${pp}.tcpSocket`);
  if (tcp) return ["TCP", String(tcp["port"] ?? "")];
  const grpc = f.map(probe["grpc"], `${pp}.grpc`);
  if (grpc) return ["GRPC", String(grpc["port"] ?? "")];
  return [];
}
