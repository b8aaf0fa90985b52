// One comparable shape for a compose project, built either from Corral's Deployment or from
// `docker compose config --format json`, so the two can be diffed field by field. Both sides
// are reduced to what reachability and the scanner depend on; ordering that neither side
// promises (aliases, ports, mounts, profiles) is sorted away.

import { InputError } from "../errors.ts";
import type { Deployment, Service } from "../types.ts";

export interface PortShape {
  /** "" when the file gave no host address (the engine binds every interface). */
  hostIp: string;
  /** Host port or range as compose prints it ("8080", "8000-8010"); "" for an ephemeral port. */
  published: string;
  target: number;
  protocol: string;
}

export interface MountShape {
  type: string;
  /** Absolute host path (bind), volume key (volume), "" when none (anonymous volume, tmpfs). */
  source: string;
  target: string;
  readOnly: boolean;
}

export interface ServiceShape {
  /** `network_mode` as compose resolves it ("host", "service:db", "bridge"); "" when joined by `networks`. */
  networkMode: string;
  /** Network key → sorted aliases. */
  networks: Record<string, string[]>;
  ports: PortShape[];
  mounts: MountShape[];
  /** After interpolation and env_file merging; null for a name given without a value. */
  environment: Record<string, string | null>;
  profiles: string[];
}

export interface NetworkShape {
  name: string;
  external: boolean;
  internal: boolean;
}

export interface ReferenceShape {
  project: string;
  services: Record<string, ServiceShape>;
  networks: Record<string, NetworkShape>;
}

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
const portKey = (p: PortShape) => `${p.target}/${p.protocol} ${p.hostIp} ${p.published}`;
const mountKey = (m: MountShape) => `${m.target} ${m.type} ${m.source}`;

function sortedRecord<V>(entries: Array<[string, V]>): Record<string, V> {
  return Object.fromEntries(entries.sort(byKey(([k]) => k)));
}

function range(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

// ---- Corral ------------------------------------------------------------------------------

/** Engine networks reached through `network_mode: bridge|<name>` are not project networks. */
function engineNetworks(d: Deployment): Set<string> {
  return new Set(d.networks.filter((n) => n.implicit && n.external).map((n) => n.name));
}

function corralService(s: Service, engine: Set<string>): ServiceShape {
  const c = s.containers[0];
  if (!c) throw new Error(`service "${s.name}" has no container`);
  const mode = s.networkMode;
  const viaEngine = s.networks.find((n) => engine.has(n.network));
  const networkMode =
    mode.kind === "service" || mode.kind === "container"
      ? `${mode.kind}:${mode.target}`
      : mode.kind !== "bridge"
        ? mode.kind
        : (viaEngine?.network ?? "");
  const ports: PortShape[] = s.ports.flatMap((p) => {
    const hostIp = p.hostIpDefaulted ? "" : p.hostIp;
    const size = p.target.to - p.target.from;
    // compose prints one entry per container port; a host range stays whole only for a single target
    if (size === 0)
      return [
        {
          hostIp,
          published: p.hostPort ? range(p.hostPort.from, p.hostPort.to) : "",
          target: p.target.from,
          protocol: p.protocol,
        },
      ];
    return Array.from({ length: size + 1 }, (_, i) => ({
      hostIp,
      published: p.hostPort ? String(p.hostPort.from + i) : "",
      target: p.target.from + i,
      protocol: p.protocol,
    }));
  });
  return {
    networkMode,
    networks: sortedRecord(
      s.networks.filter((n) => !engine.has(n.network)).map((n) => [n.network, [...n.aliases].sort()]),
    ),
    ports: ports.sort(byKey(portKey)),
    mounts: c.mounts
      .map((m) => ({ type: m.type, source: m.source ?? "", target: m.target, readOnly: m.readOnly }))
      .sort(byKey(mountKey)),
    environment: sortedRecord(c.env.map((e) => [e.name, e.value ?? null])),
    profiles: [...s.profiles].sort(),
  };
}

export function shapeFromCorral(d: Deployment): ReferenceShape {
  const engine = engineNetworks(d);
  return {
    project: d.project ?? "",
    services: sortedRecord(d.services.map((s) => [s.name, corralService(s, engine)])),
    networks: sortedRecord(
      d.networks
        .filter((n) => !engine.has(n.name))
        .map((n) => [n.name, { name: n.fullName ?? n.name, external: n.external, internal: n.internal }]),
    ),
  };
}

// ---- docker compose config ---------------------------------------------------------------

type Json = Record<string, unknown>;

const CONFIG_HINT = "this came from `docker compose config`: check that it runs and prints the project";

function obj(v: unknown, what: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw new InputError(`compose config: ${what} is not an object`, undefined, CONFIG_HINT);
  return v as Json;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InputError(`compose config: ${what} is not a list`, undefined, CONFIG_HINT);
  return v;
}

function text(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}

function composeService(name: string, raw: unknown): ServiceShape {
  const svc = obj(raw, `service ${name}`);
  const networks = sortedRecord(
    Object.entries(obj(svc.networks, `${name}.networks`)).map(([net, v]): [string, string[]] => [
      net,
      list(obj(v, `${name}.networks.${net}`).aliases, `${name}.networks.${net}.aliases`)
        .map(text)
        .sort(),
    ]),
  );
  const ports = list(svc.ports, `${name}.ports`).map((p): PortShape => {
    const port = obj(p, `${name}.ports[]`);
    return {
      hostIp: text(port.host_ip),
      published: text(port.published),
      target: Number(port.target),
      protocol: text(port.protocol) || "tcp",
    };
  });
  const mounts = list(svc.volumes, `${name}.volumes`).map((v): MountShape => {
    const m = obj(v, `${name}.volumes[]`);
    return { type: text(m.type), source: text(m.source), target: text(m.target), readOnly: m.read_only === true };
  });
  const tmpfs = typeof svc.tmpfs === "string" ? [svc.tmpfs] : list(svc.tmpfs, `${name}.tmpfs`).map(text);
  for (const t of tmpfs) mounts.push({ type: "tmpfs", source: "", target: t.split(":")[0] ?? t, readOnly: false });
  return {
    networkMode: text(svc.network_mode),
    networks,
    ports: ports.sort(byKey(portKey)),
    mounts: mounts.sort(byKey(mountKey)),
    environment: sortedRecord(
      Object.entries(obj(svc.environment, `${name}.environment`)).map(([k, v]): [string, string | null] => [
        k,
        v === null ? null : String(v),
      ]),
    ),
    profiles: list(svc.profiles, `${name}.profiles`).map(text).sort(),
  };
}

/** `docker compose config --format json` output → the shape. */
export function shapeFromComposeConfig(config: unknown): ReferenceShape {
  const root = obj(config, "the document");
  return {
    project: text(root.name),
    services: sortedRecord(Object.entries(obj(root.services, "services")).map(([k, v]) => [k, composeService(k, v)])),
    networks: sortedRecord(
      Object.entries(obj(root.networks, "networks")).map(([k, v]): [string, NetworkShape] => {
        const n = obj(v, `networks.${k}`);
        return [k, { name: text(n.name) || k, external: n.external === true, internal: n.internal === true }];
      }),
    ),
  };
}

/**
 * Every place two shapes differ, as `path: corral … ≠ compose …` lines; [] when equal. Lists
 * are compared whole, since a misread entry is clearer shown beside its counterpart.
 */
export function diffShapes(corral: unknown, compose: unknown, path = ""): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(corral) && isObj(compose)) {
    const keys = [...new Set([...Object.keys(corral), ...Object.keys(compose)])].sort();
    return keys.flatMap((k) => {
      const p = path === "" ? k : `${path}.${k}`;
      if (!(k in corral)) return [`${p}: missing in corral, compose has ${JSON.stringify(compose[k])}`];
      if (!(k in compose)) return [`${p}: corral has ${JSON.stringify(corral[k])}, missing in compose`];
      return diffShapes(corral[k], compose[k], p);
    });
  }
  const a = JSON.stringify(corral);
  const b = JSON.stringify(compose);
  return a === b ? [] : [`${path}: corral ${a} ≠ compose ${b}`];
}
