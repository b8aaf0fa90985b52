// A workload manifest (Deployment, StatefulSet, …, Pod, CronJob) → Service, from its pod template.
import type { Service } from "../types.ts";
import { containerOf, type PodContext } from "./container.ts";
import type { Fields } from "./fields.ts";

/** Where each workload kind keeps its pod template (metadata + spec). */
const TEMPLATE_PATH: Record<string, string | undefined> = {
  Deployment: "spec.template",
  StatefulSet: "spec.template",
  DaemonSet: "spec.template",
  ReplicaSet: "spec.template",
  ReplicationController: "spec.template",
  Job: "spec.template",
  CronJob: "spec.jobTemplate.spec.template",
  Pod: "",
};

export const WORKLOAD_KINDS: ReadonlySet<string> = new Set(Object.keys(TEMPLATE_PATH));

function dig(value: Record<string, unknown>, path: string, f: Fields): Record<string, unknown> | undefined {
  let cur: Record<string, unknown> | undefined = value;
  let at = "";
  for (const part of path ? path.split(".") : []) {
    at = at ? `${at}.${part}` : part;
    cur = f.map(cur?.[part], at);
  }
  return cur;
}

function stringMap(f: Fields, v: unknown, path: string): Record<string, string> {
  const m = f.map(v, path) ?? {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(m)) out[k] = f.str(x, `${path}.${k}`) ?? "";
  return out;
}

export function workloadOf(
  f: Fields,
  value: Record<string, unknown>,
  kind: string,
  namespace: string,
  name: string,
): Service {
  const tplPath = TEMPLATE_PATH[kind] ?? "";
  const tpl = dig(value, tplPath, f) ?? {};
  const prefix = tplPath ? `${tplPath}.` : "";
  const meta = f.map(tpl["metadata"], `${prefix}metadata`) ?? {};
  const specPath = `${prefix}spec`;
  const spec = f.map(tpl["spec"], specPath) ?? {};

  const volumes: PodContext["volumes"] = new Map();
  f.list(spec["volumes"], `${specPath}.volumes`).forEach((raw, i) => {
    const vp = `${specPath}.volumes.${i}`;
    const v = f.map(raw, vp) ?? {};
    const vname = f.str(v["name"], `${vp}.name`);
    if (vname !== undefined) volumes.set(vname, { value: v, path: vp });
  });
  const pod: PodContext = {
    specPath,
    podSecurity: f.map(spec["securityContext"], `${specPath}.securityContext`),
    volumes,
    annotations: f.map(meta["annotations"], `${prefix}metadata.annotations`) ?? {},
  };

  const svc: Service = {
    name,
    platform: "kubernetes",
    namespace,
    kind,
    labels: stringMap(f, meta["labels"], `${prefix}metadata.labels`),
    networkMode: f.bool(spec["hostNetwork"], `${specPath}.hostNetwork`) ? { kind: "host" } : { kind: "bridge" },
    networks: [],
    ports: [],
    dns: [],
    extraHosts: [],
    dependsOn: [],
    profiles: [],
    containers: [],
    pos: f.pos("kind"),
    positions: f.positionsUnder(""),
  };
  if (f.bool(spec["hostPID"], `${specPath}.hostPID`)) svc.pid = "host";
  if (f.bool(spec["hostIPC"], `${specPath}.hostIPC`)) svc.ipc = "host";
  const restart = f.str(spec["restartPolicy"], `${specPath}.restartPolicy`);
  if (restart !== undefined) svc.restart = restart;
  const automount = f.bool(spec["automountServiceAccountToken"], `${specPath}.automountServiceAccountToken`);
  if (automount !== undefined) svc.automountServiceAccountToken = automount;
  const dnsConfig = f.map(spec["dnsConfig"], `${specPath}.dnsConfig`);
  svc.dns = f.list(dnsConfig?.["nameservers"], `${specPath}.dnsConfig.nameservers`).map((x) => String(x));
  f.list(spec["hostAliases"], `${specPath}.hostAliases`).forEach((raw, i) => {
    const hp = `${specPath}.hostAliases.${i}`;
    const ha = f.map(raw, hp) ?? {};
    const ip = f.str(ha["ip"], `${hp}.ip`) ?? "";
    for (const h of f.list(ha["hostnames"], `${hp}.hostnames`)) svc.extraHosts.push(`${String(h)}:${ip}`);
  });

  for (const key of ["containers", "initContainers"]) {
    f.list(spec[key], `${specPath}.${key}`).forEach((raw, i) => {
      const cp = `${specPath}.${key}.${i}`;
      const c = f.map(raw, cp) ?? {};
      const { container, hostPorts } = containerOf(f, c, cp, pod);
      svc.containers.push(container);
      svc.ports.push(...hostPorts);
    });
  }
  return svc;
}
