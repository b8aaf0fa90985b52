// Infers a starting policy from a deployment: zones by tier, flows from depends_on and from
// connection settings in the environment, publish entries rebound to loopback, egress empty.
// Pure: every inference carries the evidence that becomes a comment in corral.yaml.

import { explainTier, type Tier, type TierExplained } from "../model/tiers.ts";
import type { PortRange, Service, SourcePos } from "../model/types.ts";
import { type EgressNeed, egressNeeds } from "./egress.ts";

export interface Evidence {
  text: string;
  pos?: SourcePos;
}

export interface InferredFlow {
  from: string;
  to: string;
  ports: PortRange[];
  evidence: Evidence[];
}

export interface InferredPolicy {
  project?: string;
  zones: Record<Tier, Array<{ service: string; why: TierExplained }>>;
  flows: InferredFlow[];
  /** Destinations that could not be given a port: the user must complete them. */
  incomplete: InferredFlow[];
  publish: Array<{
    service: string;
    port: string;
    host: string;
    was: string;
    pos: SourcePos;
    /** A published reverse proxy that already forwards to this service: publishing it too is not needed. */
    behind?: string;
  }>;
  /** Services whose environment shows calls out: refused under the empty default egress. */
  egress: EgressNeed[];
}

const WELL_KNOWN_PORTS: Array<[string, number[]]> = [
  ["postgres", [5432]],
  ["pgvector", [5432]],
  ["postgis", [5432]],
  ["timescaledb", [5432]],
  ["mysql", [3306]],
  ["mariadb", [3306]],
  ["mongo", [27017]],
  ["redis", [6379]],
  ["valkey", [6379]],
  ["keydb", [6379]],
  ["dragonfly", [6379]],
  ["memcached", [11211]],
  ["qdrant", [6333, 6334]],
  ["weaviate", [8080]],
  ["milvus", [19530]],
  ["chroma", [8000]],
  ["elasticsearch", [9200]],
  ["opensearch", [9200]],
  ["minio", [9000]],
  ["neo4j", [7687, 7474]],
  ["falkordb", [6379]],
  ["clickhouse", [8123, 9000]],
  ["rabbitmq", [5672]],
  ["nats", [4222]],
  ["etcd", [2379]],
  ["ollama", [11434]],
  ["nginx", [80]],
];

const SCHEME_PORTS: Record<string, number> = {
  postgres: 5432,
  postgresql: 5432,
  "postgresql+psycopg2": 5432,
  "postgresql+asyncpg": 5432,
  mysql: 3306,
  "mysql+pymysql": 3306,
  mariadb: 3306,
  mongodb: 27017,
  redis: 6379,
  rediss: 6379,
  amqp: 5672,
  nats: 4222,
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
  bolt: 7687,
  neo4j: 7687,
  clickhouse: 8123,
};

/** `docker.io/library/postgres:15` → `postgres`; `redis/redis-stack-server:latest` → `redis/redis-stack-server`. */
function imageRepository(image: string): string {
  const noDigest = image.split("@")[0]!;
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  const noTag = colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  return noTag
    .replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, "")
    .replace(/^library\//, "")
    .toLowerCase();
}

const REVERSE_PROXY = /(^|\/)(nginx|openresty|traefik|caddy|haproxy|envoy)(-|$)/;

function tcp(port: number): PortRange {
  return { from: port, to: port, protocol: "tcp" };
}

// `X_PORT` names the service's own port only for these X (or the service's own name): elsewhere it
// is usually a port of another service the app connects to (POSTGRES_PORT beside POSTGRES_HOST).
const OWN_PORT_PREFIXES = new Set(["HTTP", "HTTPS", "SERVER", "APP", "LISTEN", "WEB", "BIND", "SERVICE"]);

const asPort = (text: string | undefined) => {
  const n = text && /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : undefined;
  return n !== undefined && n >= 1 && n <= 65535 ? n : undefined;
};

/** The ports a service's own settings say it listens on: PORT, HTTP_PORT-like variables, --port. */
export function settingPorts(service: Service): PortRange[] {
  const self = service.name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const out: number[] = [];
  for (const c of service.containers) {
    for (const e of c.env) {
      const m = /^(?:(.*)_)?PORT$/.exec(e.name);
      if (!m || (m[1] !== undefined && !OWN_PORT_PREFIXES.has(m[1]) && m[1] !== self)) continue;
      const port = asPort(e.value);
      if (port) out.push(port);
    }
    const argv = c.command ?? [];
    argv.forEach((arg, i) => {
      const port =
        arg === "--port" ? asPort(argv[i + 1]) : arg.startsWith("--port=") ? asPort(arg.slice(7)) : undefined;
      if (port) out.push(port);
    });
  }
  return dedupePorts(out.map(tcp));
}

/**
 * Ports a service is known to listen on: its own declarations first, then what its settings say
 * (PORT=3000), then its image's defaults.
 */
export function knownPorts(service: Service): PortRange[] {
  const declared = service.containers.flatMap((c) =>
    c.listens.map(({ from, to, protocol }) => ({ from, to, protocol })),
  );
  if (declared.length > 0) return dedupePorts(declared);
  const set = settingPorts(service);
  if (set.length > 0) return set;
  const image = service.containers[0]?.image;
  if (!image) return [];
  const base = imageRepository(image).split("/").pop()!;
  const hit = WELL_KNOWN_PORTS.find(([name]) => base === name || base.startsWith(`${name}-`));
  return hit ? hit[1].map(tcp) : [];
}

function dedupePorts(ports: PortRange[]): PortRange[] {
  const seen = new Map<string, PortRange>();
  for (const p of ports) seen.set(`${p.from}-${p.to}/${p.protocol}`, p);
  return [...seen.values()].sort((a, b) => a.from - b.from || a.protocol.localeCompare(b.protocol));
}

interface EnvReference {
  target: string;
  port?: number;
  variable: string;
  pos: SourcePos;
}

/** `scheme://user:pass@host:port/…` and `X_HOST=svc` (+ `X_PORT=n`) naming another service. */
export function envReferences(service: Service, names: Set<string>): EnvReference[] {
  const refs: EnvReference[] = [];
  const env = service.containers.flatMap((c) => c.env);
  const byName = new Map(env.map((e) => [e.name, e]));
  for (const e of env) {
    if (!e.value) continue;
    for (const m of e.value.matchAll(/([a-z][a-z0-9+.-]*):\/\/(?:[^@/\s]*@)?([A-Za-z0-9_.-]+)(?::(\d{1,5}))?/gi)) {
      const host = m[2]!;
      if (!names.has(host)) continue;
      const port = m[3] ? Number(m[3]) : SCHEME_PORTS[m[1]!.toLowerCase()];
      refs.push({ target: host, port, variable: e.name, pos: e.pos });
    }
    const hostVar = /^(.*)_(HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$/.exec(e.name);
    if (hostVar && names.has(e.value.trim())) {
      const portVar = byName.get(`${hostVar[1]}_PORT`);
      const port = portVar?.value && /^\d{1,5}$/.test(portVar.value) ? Number(portVar.value) : undefined;
      refs.push({ target: e.value.trim(), port, variable: e.name, pos: e.pos });
    }
  }
  return refs;
}

/** What containers call the Docker host; a flow to it targets the reserved name `host`. */
const DOCKER_HOST_NAME = "host.docker.internal";
const HOST_TARGET = "host";

/**
 * References to the Docker host itself: environment naming host.docker.internal (with its port
 * when the URL or an `X_PORT` gives one), and `extra_hosts` entries mapping a name to
 * `host-gateway`, which say the service talks to the host even when no variable shows the port.
 */
export function hostReferences(service: Service): { env: EnvReference[]; gateways: Evidence[] } {
  const env = envReferences(service, new Set([DOCKER_HOST_NAME])).map((r) => ({ ...r, target: HOST_TARGET }));
  const gateways = service.extraHosts
    .map((h, i) => ({ h, pos: service.positions[`extra_hosts.${i}`] ?? service.positions.extra_hosts ?? service.pos }))
    .filter(({ h }) => /[:=]host-gateway$/.test(h))
    .map(({ h, pos }) => ({ text: `extra_hosts ${h} (${where(pos)})`, pos }));
  return { env, gateways };
}

function where(pos: SourcePos | undefined): string {
  return pos ? `${pos.file.split("/").pop()}:${pos.line}` : "";
}

export function inferPolicy(services: Service[], project?: string): InferredPolicy {
  const names = new Set(services.map((s) => s.name));
  const zones: InferredPolicy["zones"] = { web: [], agents: [], data: [] };
  const tiers = new Map<string, TierExplained>();
  for (const s of services) {
    const why = explainTier(s.name, s.containers[0]?.image);
    tiers.set(s.name, why);
    zones[why.tier].push({ service: s.name, why });
  }

  const flows = new Map<string, InferredFlow>();
  const addFlow = (from: string, to: string, ports: PortRange[], evidence: Evidence) => {
    const key = `${from}\u0000${to}`;
    const flow = flows.get(key) ?? { from, to, ports: [], evidence: [] };
    flow.ports = dedupePorts([...flow.ports, ...ports]);
    if (!flow.evidence.some((e) => e.text === evidence.text)) flow.evidence.push(evidence);
    flows.set(key, flow);
  };
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const s of services) {
    s.dependsOn.forEach((dep, i) => {
      const target = byName.get(dep);
      if (!target) return;
      const pos = s.positions[`depends_on.${i}`] ?? s.positions[`depends_on.${dep}`] ?? s.positions.depends_on ?? s.pos;
      addFlow(s.name, dep, knownPorts(target), { text: `depends_on (${where(pos)})`, pos });
    });
    for (const ref of envReferences(s, names)) {
      if (ref.target === s.name) continue;
      const target = byName.get(ref.target)!;
      const ports = ref.port ? [tcp(ref.port)] : knownPorts(target);
      addFlow(s.name, ref.target, ports, { text: `${ref.variable} (${where(ref.pos)})`, pos: ref.pos });
    }
    const host = hostReferences(s);
    for (const ref of host.env)
      addFlow(s.name, HOST_TARGET, ref.port ? [tcp(ref.port)] : [], {
        text: `${ref.variable} (${where(ref.pos)})`,
        pos: ref.pos,
      });
    for (const e of host.gateways) addFlow(s.name, HOST_TARGET, [], e);
  }
  const all = [...flows.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));

  const publish: InferredPolicy["publish"] = [];
  for (const s of services) {
    for (const p of s.ports) {
      for (let offset = 0; offset <= p.target.to - p.target.from; offset++) {
        const hostPort = p.hostPort ? p.hostPort.from + offset : undefined;
        const address = p.hostIpDefaulted ? "every interface (no address given)" : p.hostIp;
        const was = `${hostPort ? `port ${hostPort}` : "an ephemeral port"} on ${address}`;
        publish.push({
          service: s.name,
          port: `${p.target.from + offset}/${p.protocol}`,
          host: hostPort ? `127.0.0.1:${hostPort}` : "127.0.0.1",
          was,
          pos: p.pos,
        });
      }
    }
  }
  // A service a published reverse proxy forwards to needs no port of its own on the host.
  const proxies = new Set(
    services
      .filter((s) => s.ports.length > 0 && REVERSE_PROXY.test(imageRepository(s.containers[0]?.image ?? "")))
      .map((s) => s.name),
  );
  for (const p of publish) {
    if (proxies.has(p.service)) continue;
    const via = all.find((f) => f.to === p.service && proxies.has(f.from));
    if (via) p.behind = via.from;
  }
  return {
    project,
    zones,
    flows: all.filter((f) => f.ports.length > 0),
    incomplete: all.filter((f) => f.ports.length === 0),
    publish,
    egress: egressNeeds(services),
  };
}
