// One merged, canonical service tree → the model's Service with its single Container.

import { InputError } from "../errors.ts";
import type {
  Container,
  Diagnostic,
  EnvVar,
  Healthcheck,
  Mount,
  NetworkAttachment,
  NetworkMode,
  PortRange,
  PublishedPort,
  Resources,
  Service,
  SourcePos,
} from "../types.ts";
import { parseDotenv } from "./dotenv.ts";
import type { Lookup } from "./interpolate.ts";
import type { ServiceDef } from "./load.ts";
import { parseExpose, parseLongPort, parseShortPort } from "./ports.ts";
import { normaliseSecurityOpt } from "./security.ts";
import { get, type PMap, type PV, plain, str } from "./tree.ts";
import { parseBytes, parseCpus, parseInteger } from "./units.ts";
import { parseLongVolume, parseShortVolume, parseTmpfs } from "./volumes.ts";

export interface BuildContext {
  read: (path: string) => string | undefined;
  lookup: Lookup;
  diagnostics: Diagnostic[];
  /** Top-level network keys; a service naming another network is an error, as in compose. */
  declaredNetworks: Set<string>;
  /**
   * Missing env files by path, with the services that need them: stacks share one `.env` among
   * many services, and one warning naming them all says it once instead of once per service.
   */
  missingEnvFiles: Map<string, { diagnostic: Diagnostic; services: string[] }>;
}

function at(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}

function strings(v: PV | undefined): Array<{ value: string; pos: SourcePos }> {
  if (!v) return [];
  if (v.kind === "scalar") return v.value === null ? [] : [{ value: String(v.value), pos: v.pos }];
  if (v.kind === "seq")
    return v.items.flatMap((i) =>
      i.kind === "scalar" && i.value !== null ? [{ value: String(i.value), pos: i.pos }] : [],
    );
  return [];
}

function bool(v: PV | undefined): boolean {
  if (v?.kind !== "scalar") return false;
  if (typeof v.value === "boolean") return v.value;
  return typeof v.value === "string" && ["true", "yes", "on", "1"].includes(v.value.toLowerCase());
}

/** Every key and item of the service by dotted path, with the position that contributed it. */
function collectPositions(v: PV, prefix: string, out: Record<string, SourcePos>): void {
  if (v.kind === "map") {
    for (const [k, e] of v.entries) {
      const path = prefix === "" ? k : `${prefix}.${k}`;
      out[path] = e.keyPos;
      collectPositions(e.value, path, out);
    }
  } else if (v.kind === "seq") {
    v.items.forEach((item, i) => {
      const path = `${prefix}.${i}`;
      out[path] = item.pos;
      collectPositions(item, path, out);
    });
  }
}

function networkMode(v: PV | undefined, diags: Diagnostic[]): NetworkMode {
  const mode = str(v);
  if (mode === undefined || mode === "") return { kind: "bridge" };
  if (mode === "host") return { kind: "host" };
  if (mode === "none") return { kind: "none" };
  if (mode === "bridge" || mode === "default") return { kind: "bridge" };
  if (mode.startsWith("service:")) return { kind: "service", target: mode.slice("service:".length) };
  if (mode.startsWith("container:")) return { kind: "container", target: mode.slice("container:".length) };
  if (v)
    diags.push({
      severity: "warning",
      message: `network_mode "${mode}" joins the engine network of that name`,
      pos: v.pos,
    });
  return { kind: "bridge" };
}

function ports(v: PV | undefined, diags: Diagnostic[], svc: string): PublishedPort[] {
  if (v?.kind !== "seq") return [];
  const out: PublishedPort[] = [];
  for (const item of v.items) {
    const r =
      item.kind === "map"
        ? parseLongPort(plain(item) as Parameters<typeof parseLongPort>[0])
        : item.kind === "scalar" && item.value !== null
          ? parseShortPort(String(item.value))
          : { ok: false as const, error: "expected a port" };
    if (!r.ok) {
      diags.push({
        severity: "warning",
        message: `service "${svc}": port ${item.kind === "scalar" ? `"${String(item.value)}"` : "entry"} ignored: ${r.error}`,
        pos: item.pos,
        hint: "an empty variable in a port spec leaves no port; set it in .env",
      });
      continue;
    }
    const p = r.port;
    const hostIp = p.hostIp ?? "0.0.0.0";
    const pp: PublishedPort = {
      hostIp,
      hostIpDefaulted: p.hostIp === undefined,
      target: p.target,
      protocol: p.protocol,
      pos: item.pos,
    };
    if (p.hostPort) pp.hostPort = p.hostPort;
    out.push(pp);
  }
  return out;
}

function mounts(svc: PMap, diags: Diagnostic[], name: string): Mount[] {
  const out: Mount[] = [];
  const vols = get(svc, "volumes");
  if (vols?.kind === "seq") {
    for (const item of vols.items) {
      let r: ReturnType<typeof parseShortVolume>;
      if (item.kind === "scalar") r = parseShortVolume(String(item.value ?? ""));
      else if (item.kind === "map") {
        const src = str(get(item, "source"));
        const prop = str(get(get(item, "bind"), "propagation"));
        r = parseLongVolume({
          type: str(get(item, "type")),
          source: src,
          target: str(get(item, "target")),
          read_only: bool(get(item, "read_only")),
          propagation: prop,
        } as Parameters<typeof parseLongVolume>[0]);
      } else r = { error: "expected a volume" };
      if ("error" in r) {
        diags.push({ severity: "warning", message: `service "${name}": volume ignored: ${r.error}`, pos: item.pos });
        continue;
      }
      out.push({ ...r, pos: item.pos });
    }
  }
  for (const t of strings(get(svc, "tmpfs"))) out.push({ ...parseTmpfs(t.value), pos: t.pos });
  return out;
}

function warnMissingEnvFile(ctx: BuildContext, path: string, service: string, pos: SourcePos): void {
  const known = ctx.missingEnvFiles.get(path);
  const entry = known ?? {
    diagnostic: {
      severity: "warning" as const,
      message: "",
      pos,
      hint: "create the file (compose refuses to start without it) or mark it `required: false`",
    },
    services: [],
  };
  if (!entry.services.includes(service)) entry.services.push(service);
  const who = entry.services.map((s) => `"${s}"`).join(", ");
  entry.diagnostic.message = `env_file ${path} not found (needed by service${entry.services.length > 1 ? "s" : ""} ${who})`;
  if (!known) {
    ctx.missingEnvFiles.set(path, entry);
    ctx.diagnostics.push(entry.diagnostic);
  }
}

function envVars(svc: PMap, ctx: BuildContext, name: string): EnvVar[] {
  const byName = new Map<string, EnvVar>();
  const files = get(svc, "env_file");
  if (files?.kind === "seq") {
    for (const f of files.items) {
      const path = f.kind === "map" ? str(get(f, "path")) : str(f);
      if (!path) continue;
      const reqNode = f.kind === "map" ? get(f, "required") : undefined;
      const required = reqNode ? bool(reqNode) : true;
      const text = ctx.read(path);
      if (text === undefined) {
        if (required) warnMissingEnvFile(ctx, path, name, f.pos);
        continue;
      }
      for (const e of parseDotenv(text, path, ctx.lookup)) {
        // a bare name takes the project environment's value; compose drops it when there is none
        const value = e.value ?? ctx.lookup(e.name);
        if (value === undefined) continue;
        byName.delete(e.name);
        byName.set(e.name, { name: e.name, value, pos: e.pos, from: "env_file" });
      }
    }
  }
  const env = get(svc, "environment");
  if (env?.kind === "map") {
    for (const [k, e] of env.entries) {
      const ev: EnvVar = { name: k, pos: e.keyPos, from: "inline" };
      // a bare name is resolved from the project environment (shell, then .env), as compose
      // does when it creates the container; unset, it stays without a value
      const value = e.value.kind === "scalar" && e.value.value !== null ? String(e.value.value) : ctx.lookup(k);
      if (value !== undefined) ev.value = value;
      byName.delete(k);
      byName.set(k, ev);
    }
  }
  return [...byName.values()];
}

function resources(svc: PMap, diags: Diagnostic[], name: string): Resources {
  const out: Resources = {};
  const limits = get(get(get(svc, "deploy"), "resources"), "limits");
  const pick = (
    deployKey: string,
    legacyKey: string,
    parse: (v: string | number) => number | undefined,
  ): number | undefined => {
    let result: number | undefined;
    for (const node of [get(svc, legacyKey), get(limits, deployKey)]) {
      if (node?.kind !== "scalar" || node.value === null || typeof node.value === "boolean") continue;
      if (node.value === "") continue;
      const n = parse(node.value);
      if (n === undefined) {
        diags.push({
          severity: "warning",
          message: `service "${name}": cannot read ${deployKey} "${String(node.value)}"`,
          pos: node.pos,
        });
        continue;
      }
      // deploy.resources.limits wins over the legacy key, as compose applies it last
      result = n;
    }
    return result;
  };
  const memory = pick("memory", "mem_limit", parseBytes);
  const cpus = pick("cpus", "cpus", parseCpus);
  const pids = pick("pids", "pids_limit", parseInteger);
  if (memory !== undefined) out.memory = memory;
  if (cpus !== undefined) out.cpus = cpus;
  if (pids !== undefined) out.pids = pids;
  return out;
}

function healthcheck(svc: PMap, keyPos: SourcePos | undefined): Healthcheck | undefined {
  const hc = get(svc, "healthcheck");
  if (hc?.kind !== "map" || !keyPos) return undefined;
  const testNode = get(hc, "test");
  let test: string[] | undefined;
  if (testNode?.kind === "scalar" && testNode.value !== null) test = ["CMD-SHELL", String(testNode.value)];
  else if (testNode?.kind === "seq") test = strings(testNode).map((s) => s.value);
  const disabled = bool(get(hc, "disable")) || test?.[0] === "NONE";
  const out: Healthcheck = { disabled, pos: keyPos };
  if (test) out.test = test;
  return out;
}

function listens(svc: PMap, published: PublishedPort[]): PortRange[] {
  const out: PortRange[] = [];
  const seen = new Set<string>();
  const add = (r: PortRange) => {
    const k = `${r.from}-${r.to}/${r.protocol}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(r);
    }
  };
  for (const e of strings(get(svc, "expose"))) {
    const r = parseExpose(e.value);
    if (r) add(r);
  }
  for (const p of published) add({ from: p.target.from, to: p.target.to, protocol: p.protocol });
  return out;
}

export function buildService(def: ServiceDef, ctx: BuildContext): Service {
  const svc = def.value;
  const name = def.name;
  const diags = ctx.diagnostics;
  const modeNode = get(svc, "network_mode");
  const mode = networkMode(modeNode, diags);
  const netsNode = get(svc, "networks");
  const networks: NetworkAttachment[] = [];
  if (netsNode?.kind === "map") {
    for (const [net, e] of netsNode.entries) {
      if (net !== "default" && !ctx.declaredNetworks.has(net)) {
        throw new InputError(
          `${at(e.keyPos)}: service "${name}" refers to undefined network "${net}"`,
          e.keyPos,
          `declare it under the top-level \`networks:\` key (\`networks: {${net}: {}}\`)`,
        );
      }
      const a: NetworkAttachment = {
        network: net,
        aliases: strings(get(e.value, "aliases")).map((s) => s.value),
        pos: e.keyPos,
      };
      const v4 = str(get(e.value, "ipv4_address"));
      const v6 = str(get(e.value, "ipv6_address"));
      if (v4) a.ipv4 = v4;
      if (v6) a.ipv6 = v6;
      networks.push(a);
    }
  }
  const modeText = str(modeNode);
  if (modeText && modeText !== "" && mode.kind === "bridge") {
    // `bridge`/`default` (or a named engine network) attach to that engine network, not the project's
    const engineNet = modeText === "default" ? "bridge" : modeText;
    networks.push({ network: engineNet, aliases: [], pos: modeNode!.pos });
  } else if (mode.kind === "bridge" && networks.length === 0) {
    networks.push({ network: "default", aliases: [], pos: def.keyPos });
  }

  const published = ports(get(svc, "ports"), diags, name);
  const securityOpt = strings(get(svc, "security_opt")).map((s) => s.value);
  const sec = normaliseSecurityOpt(securityOpt);
  const labels: Record<string, string> = {};
  const labelNode = get(svc, "labels");
  if (labelNode?.kind === "map") {
    for (const [k, e] of labelNode.entries)
      labels[k] = e.value.kind === "scalar" && e.value.value !== null ? String(e.value.value) : "";
  }
  const devices: string[] = [];
  const devNode = get(svc, "devices");
  if (devNode?.kind === "seq") {
    for (const d of devNode.items) {
      if (d.kind === "scalar" && d.value !== null) devices.push(String(d.value));
      else if (d.kind === "map") {
        devices.push(
          [str(get(d, "source")), str(get(d, "target")), str(get(d, "permissions"))].filter(Boolean).join(":"),
        );
      }
    }
  }
  const dependsOn: string[] = [];
  const dep = get(svc, "depends_on");
  if (dep?.kind === "map") dependsOn.push(...dep.entries.keys());

  const container: Container = {
    name,
    build: svc.entries.has("build"),
    privileged: bool(get(svc, "privileged")),
    capAdd: strings(get(svc, "cap_add")).map((s) => s.value),
    capDrop: strings(get(svc, "cap_drop")).map((s) => s.value),
    securityOpt,
    noNewPrivileges: sec.noNewPrivileges,
    readOnlyRootfs: bool(get(svc, "read_only")),
    mounts: mounts(svc, diags, name),
    devices,
    env: envVars(svc, ctx, name),
    resources: resources(svc, diags, name),
    listens: listens(svc, published),
    pos: def.keyPos,
  };
  const image = str(get(svc, "image"));
  if (image !== undefined) container.image = image;
  const commandNode = get(svc, "command");
  if (commandNode?.kind === "seq") container.command = strings(commandNode).map((s) => s.value);
  else if (commandNode?.kind === "scalar" && typeof commandNode.value === "string") {
    container.command = commandNode.value.split(/\s+/).filter(Boolean);
  }
  const ulimits = get(svc, "ulimits");
  if (ulimits?.kind === "map" && ulimits.entries.size > 0) container.ulimits = [...ulimits.entries.keys()];
  const user = str(get(svc, "user"));
  if (user !== undefined) container.user = user;
  if (sec.seccomp) container.seccomp = sec.seccomp;
  if (sec.apparmor) container.apparmor = sec.apparmor;
  const hc = healthcheck(svc, svc.entries.get("healthcheck")?.keyPos);
  if (hc) container.healthcheck = hc;

  const positions: Record<string, SourcePos> = {};
  collectPositions(svc, "", positions);

  const service: Service = {
    name,
    platform: "compose",
    labels,
    networkMode: mode,
    networks,
    ports: published,
    dns: strings(get(svc, "dns")).map((s) => s.value),
    extraHosts: strings(get(svc, "extra_hosts")).map((s) => s.value),
    dependsOn,
    profiles: strings(get(svc, "profiles")).map((s) => s.value),
    containers: [container],
    pos: def.keyPos,
    positions,
  };
  for (const [key, field] of [
    ["pid", "pid"],
    ["ipc", "ipc"],
    ["uts", "uts"],
    ["userns_mode", "userns"],
    ["restart", "restart"],
  ] as const) {
    const v = str(get(svc, key));
    if (v !== undefined) service[field] = v;
  }
  if (netsNode && modeText && modeText !== "") {
    throw new InputError(
      `${at(modeNode!.pos)}: service "${name}" declares both network_mode and networks`,
      modeNode!.pos,
      "compose refuses this combination; keep `network_mode` or `networks`, not both",
    );
  }
  return service;
}
