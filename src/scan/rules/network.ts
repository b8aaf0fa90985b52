// Exposure and segmentation: what is published on the host's interfaces, and which tiers share
// a network. (CIS Docker 5.13/5.8; KICS "Container Traffic Not Bound To Host Interface",
// Checkov; data-store and admin ports from Trivy/KICS lists.)
import ipaddr from "ipaddr.js";
import type { PortRange, PublishedPort, ReachEdge, Service } from "../../model/types.ts";
import { idOf } from "../ids.ts";
import type { Hit, Rule, RuleContext } from "../types.ts";
import { fieldPos } from "../where.ts";
import { perService, tierOfService } from "./util.ts";

export function isLoopback(hostIp: string): boolean {
  const ip = hostIp.replace(/^\[|\]$/g, "");
  if (ip === "localhost") return true;
  if (!ipaddr.isValid(ip)) return false;
  const addr = ipaddr.process(ip);
  return addr.range() === "loopback";
}

export function isAllInterfaces(p: PublishedPort): boolean {
  const ip = p.hostIp.replace(/^\[|\]$/g, "");
  return p.hostIpDefaulted || ip === "" || ip === "0.0.0.0" || ip === "::";
}

/** Published where something other than the host itself can connect. */
export function isExposed(p: PublishedPort): boolean {
  return !isLoopback(p.hostIp);
}

function describe(p: PublishedPort): string {
  const host = p.hostPort
    ? p.hostPort.from === p.hostPort.to
      ? `${p.hostPort.from}`
      : `${p.hostPort.from}-${p.hostPort.to}`
    : "an ephemeral host port";
  const target = p.target.from === p.target.to ? `${p.target.from}` : `${p.target.from}-${p.target.to}`;
  const where = p.hostIpDefaulted ? "all interfaces (no host address given)" : p.hostIp;
  return `${host} → ${target}/${p.protocol} on ${where}`;
}

function overlaps(p: PublishedPort, ports: readonly number[]): number | undefined {
  return ports.find((n) => n >= p.target.from && n <= p.target.to);
}

export const DATA_PORTS: Record<number, string> = {
  5432: "PostgreSQL",
  3306: "MySQL/MariaDB",
  27017: "MongoDB",
  6379: "Redis",
  11211: "Memcached",
  9200: "Elasticsearch/OpenSearch",
  9300: "Elasticsearch transport",
  6333: "Qdrant",
  6334: "Qdrant gRPC",
  19530: "Milvus",
  7687: "Neo4j Bolt",
  7474: "Neo4j HTTP",
  8123: "ClickHouse HTTP",
  9000: "ClickHouse native / MinIO API",
  2379: "etcd",
  9042: "Cassandra",
  5984: "CouchDB",
  5672: "RabbitMQ",
  9092: "Kafka",
  23817: "Infinity",
  7700: "Meilisearch",
  8108: "Typesense",
};

const ADMIN_PORTS: Record<number, string> = {
  8080: "admin UI (Traefik dashboard, Adminer, …)",
  8081: "mongo-express",
  5050: "pgAdmin",
  5601: "Kibana",
  15672: "RabbitMQ management",
  9001: "MinIO console",
  9090: "Prometheus",
  8265: "Ray dashboard",
};

// 8080 and 8081 are also the most common application ports (Open WebUI, LibreChat, most Java and
// Python apps listen on 8080): there the port alone says nothing, the image has to agree.
const ADMIN_IMAGE: Record<number, RegExp> = {
  8080: /(^|\/)(traefik|adminer|cadvisor|spark|jenkins|airflow)([/:@_-]|$)/i,
  8081: /(^|\/)(mongo-express|flink)([/:@_-]|$)/i,
};

const MODEL_PORTS: Record<number, string> = { 11434: "Ollama", 8265: "Ray" };
const MODEL_IMAGE =
  /(^|[/_-])(ollama|vllm|text-generation-inference|localai|llama\.?cpp|tgi|xinference|tabbyml)([/:_-]|$)/i;

function publishes(ctx: RuleContext, fn: (s: Service, p: PublishedPort) => Hit | undefined): Hit[] {
  return perService(ctx, (s) => (s.platform === "compose" ? s.ports.flatMap((p) => fn(s, p) ?? []) : []));
}

function imageAgrees(s: Service, port: number): boolean {
  const re = ADMIN_IMAGE[port];
  return !re || s.containers.some((c) => re.test(c.image ?? ""));
}

/** Whether CRL-N005 reports this publish. */
function adminPublish(s: Service, p: PublishedPort): boolean {
  return Object.keys(ADMIN_PORTS).some((k) => {
    const n = Number(k);
    return n >= p.target.from && n <= p.target.to && imageAgrees(s, n);
  });
}

/** Where a publish is written: an explicit long-syntax `host_ip` is the offending value itself. */
function publishPos(s: Service, p: PublishedPort) {
  return p.hostIpDefaulted ? p.pos : fieldPos(s, p.pos, "host_ip");
}

function portRule(
  id: string,
  title: string,
  severity: Rule["severity"],
  table: Record<number, string>,
  rationale: string,
  extra?: (ctx: RuleContext, s: Service, p: PublishedPort) => string | undefined,
  images: Record<number, RegExp> = {},
): Rule {
  const ports = Object.keys(table).map(Number);
  return {
    id,
    title,
    severity,
    family: "network",
    cwe: "CWE-668",
    platforms: ["compose"],
    rationale,
    fix: 'ports:\n  - "127.0.0.1:5432:5432"   # bind to loopback, or remove and reach it over an internal network',
    references: ["CIS Docker 5.13", "KICS", "Trivy"],
    check: (ctx) =>
      publishes(ctx, (s, p) => {
        if (!isExposed(p)) return undefined;
        const n = overlaps(
          p,
          ports.filter((x) => {
            const re = images[x];
            return re === undefined || s.containers.some((c) => re.test(c.image ?? ""));
          }),
        );
        const why = n !== undefined ? table[n] : extra?.(ctx, s, p);
        return why ? { service: s, message: `publishes ${why}: ${describe(p)}`, pos: publishPos(s, p) } : undefined;
      }),
  };
}

function edgesInto(ctx: RuleContext, s: Service): ReachEdge[] {
  const id = idOf(s);
  return (ctx.edgesTo.get(id) ?? []).filter((e) => e.from !== id);
}

const EVERY_PORT: PortRange[] = [
  { from: 1, to: 65535, protocol: "tcp" },
  { from: 1, to: 65535, protocol: "udp" },
];

/** `from` reaches `to` over `network` on every TCP and UDP port. */
function everyPortOver(ctx: RuleContext, network: string, from: string, to: string): boolean {
  return (ctx.edgesTo.get(to) ?? []).some(
    (e) =>
      e.from === from &&
      e.reasons.some((r) => r.kind === "network" && r.network === network) &&
      (e.ports === "all" ||
        EVERY_PORT.every((w) =>
          (e.ports as PortRange[]).some((p) => p.protocol === w.protocol && p.from <= w.from && p.to >= w.to),
        )),
  );
}

function declared(ctx: RuleContext, e: ReachEdge): boolean {
  return ctx.policy?.flows.some((f) => f.from === e.from && f.to === e.to) ?? false;
}

function reachedFrom(fromTier: "agents" | "web", id: string, severity: Rule["severity"]): Rule {
  return {
    id,
    title: `Data store reachable from the ${fromTier} tier`,
    severity,
    family: "network",
    cwe: "CWE-653",
    platforms: ["compose", "kubernetes"],
    rationale:
      fromTier === "agents"
        ? "An agent that can open a connection to the database can be talked (prompt injection, a malicious plugin) into reading or destroying all of it; only the API that owns the data should reach it."
        : "The web tier faces users; a compromised proxy or UI should not have a direct path to the data stores.",
    fix: "# put data stores on an internal network only the owning API joins\nnetworks:\n  data: { internal: true }\nservices:\n  postgres: { networks: [data] }\n  api: { networks: [data, backend] }",
    references: ["NIST SP 800-190 §4.4.2", "corral"],
    check: (ctx) =>
      perService(ctx, (s) => {
        if (tierOfService(ctx, s) !== "data") return undefined;
        const from = edgesInto(ctx, s).filter((e) => {
          const src = ctx.byId.get(e.from);
          return src !== undefined && tierOfService(ctx, src) === fromTier && !declared(ctx, e);
        });
        if (from.length === 0) return undefined;
        const names = [...new Set(from.map((e) => e.from))].sort();
        return {
          service: s,
          message: `reachable from ${fromTier} tier: ${names.join(", ")}`,
          pos: s.pos,
        };
      }),
  };
}

export const networkRules: Rule[] = [
  {
    id: "CRL-N001",
    title: "Port published on all interfaces",
    severity: "medium",
    family: "network",
    cwe: "CWE-668",
    platforms: ["compose"],
    rationale:
      "Without a host address Docker publishes on 0.0.0.0 and ::, and its iptables rules bypass the host firewall (ufw, firewalld): the port is open to the whole network.",
    fix: 'ports:\n  - "127.0.0.1:3000:3000"   # loopback only; put a TLS reverse proxy in front for remote access',
    references: ["CIS Docker 5.13", "KICS", "Checkov"],
    check: (ctx) =>
      publishes(ctx, (s, p) =>
        isAllInterfaces(p) ? { service: s, message: `publishes ${describe(p)}`, pos: publishPos(s, p) } : undefined,
      ),
  },
  portRule(
    "CRL-N002",
    "Data store port published",
    "high",
    DATA_PORTS,
    "Databases, caches and vector stores published on the host are reachable by anything that can reach the host, usually with default or no credentials.",
    // A data store's management UI (RabbitMQ on 15672, MinIO's console) is CRL-N005's finding.
    (ctx, s, p) => (tierOfService(ctx, s) === "data" && !adminPublish(s, p) ? "a data store" : undefined),
  ),
  portRule(
    "CRL-N003",
    "Docker Engine API published",
    "critical",
    { 2375: "the unauthenticated Docker API", 2376: "the Docker API" },
    "The Docker API on 2375/2376 is remote root on the host: anyone who reaches it starts a privileged container.",
  ),
  portRule(
    "CRL-N004",
    "Model server published",
    "high",
    MODEL_PORTS,
    "Ollama and similar model servers have no authentication: anyone who reaches the port can run, pull and delete models and burn the GPU.",
    (_ctx, s) => (s.containers.some((c) => c.image && MODEL_IMAGE.test(c.image)) ? "a model server" : undefined),
  ),
  portRule(
    "CRL-N005",
    "Admin UI port published",
    "medium",
    ADMIN_PORTS,
    "Admin and monitoring consoles (Traefik dashboard, pgAdmin, Kibana, RabbitMQ, MinIO console) should never face the network directly. 8080 and 8081 count only with an admin image (Traefik, Adminer, mongo-express, …): on their own they are ordinary app ports.",
    undefined,
    ADMIN_IMAGE,
  ),
  {
    id: "CRL-N006",
    title: "Flat network shared by data stores and other tiers",
    severity: "high",
    family: "network",
    cwe: "CWE-653",
    platforms: ["compose"],
    rationale:
      "When the database, the agents and the web tier share one network every container can open a connection to every other on any port: one compromised agent or plugin reaches all data.",
    fix: "networks:\n  web: {}\n  backend: { internal: true }\n  data: { internal: true }\n# join each service only to the networks it needs (corral init proposes the split)",
    references: ["CIS Docker 5.29 (default bridge)", "NIST SP 800-190 §4.4.2", "corral"],
    check: (ctx) => {
      const out: Hit[] = [];
      const byNet = new Map<string, Service[]>();
      for (const s of ctx.deployment.services) {
        if (s.platform !== "compose") continue;
        for (const n of s.networks) {
          const list = byNet.get(n.network);
          if (list) list.push(s);
          else byNet.set(n.network, [s]);
        }
      }
      for (const [net, members] of byNet) {
        const tiers = new Set(members.map((s) => tierOfService(ctx, s)));
        const data = members.find((s) => tierOfService(ctx, s) === "data");
        if (!data || tiers.size < 2) continue;
        // Sharing the network is the finding only while it is flat: under Corral's host rules
        // (scan --compiled) a joiner reaches the data store on its declared ports alone.
        const isData = (s: Service) => tierOfService(ctx, s) === "data";
        const flat = members.some(
          (o) => !isData(o) && members.some((x) => isData(x) && everyPortOver(ctx, net, idOf(o), idOf(x))),
        );
        if (!flat) continue;
        const def = ctx.deployment.networks.find((n) => n.name === net);
        const others = members.filter((s) => tierOfService(ctx, s) !== "data").map((s) => s.name);
        const attach = data.networks.find((n) => n.network === net);
        out.push({
          service: data,
          message: `network "${net}"${def?.implicit ? " (the implicit default network)" : ""} joins data (${members
            .filter((s) => tierOfService(ctx, s) === "data")
            .map((s) => s.name)
            .join(", ")}) with ${[...tiers].filter((t) => t !== "data").join(" and ")} (${others.join(", ")})`,
          pos: def?.implicit || !attach ? data.pos : attach.pos,
          // splitting the network is also a change to its definition
          related: def?.pos && !def.implicit ? [{ pos: def.pos, message: `network ${net} is defined here` }] : [],
        });
      }
      return out;
    },
  },
  reachedFrom("agents", "CRL-N007", "high"),
  reachedFrom("web", "CRL-N008", "medium"),
  {
    id: "CRL-N009",
    title: "Data store can reach the internet",
    severity: "medium",
    family: "network",
    cwe: "CWE-200",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A data store has no reason to open outbound connections; internet egress is how a compromised database exfiltrates its contents.",
    fix: "networks:\n  data:\n    internal: true   # no route out of the host",
    references: ["corral"],
    check: (ctx) =>
      perService(ctx, (s) => {
        if (tierOfService(ctx, s) !== "data") return undefined;
        const eg = ctx.egressOf.get(idOf(s));
        if (!eg?.internet) return undefined;
        // `internal: true` goes on the network's definition: point there too
        const related = s.networks.flatMap((a) => {
          const def = ctx.deployment.networks.find((n) => n.name === a.network);
          return def?.pos && !def.implicit && !def.internal
            ? [{ pos: def.pos, message: `network ${def.name} is not internal` }]
            : [];
        });
        return { service: s, message: `can reach the internet (${eg.reason})`, pos: s.pos, related };
      }),
  },
];
