// Which tier a service belongs to, from its image and name. Pure and deliberately small:
// `corral init` reuses it to propose zones, and scan rules use it to spot data stores that
// share a network with agents. Anything neither data nor web is treated as an agent, because
// that is the safe assumption for unknown code in an agent stack.
import type { Service } from "./types.ts";

export type Tier = "data" | "web" | "agents";

const DATA = [
  "postgres",
  "postgresql",
  "pgvector",
  "postgis",
  "timescaledb",
  "mysql",
  "mariadb",
  "mongo",
  "mongodb",
  "redis",
  "valkey",
  "keydb",
  "dragonfly",
  "memcached",
  "qdrant",
  "weaviate",
  "milvus",
  "chroma",
  "chromadb",
  "elasticsearch",
  "opensearch",
  "minio",
  "neo4j",
  "falkordb",
  "clickhouse",
  "etcd",
  "cassandra",
  "scylla",
  "couchdb",
  "infinity",
  // search engines hold indexed copies of the data (LibreChat's conversations in Meilisearch)
  "meilisearch",
  "typesense",
  "rabbitmq",
  "kafka",
  "zookeeper",
  "db",
  "database",
];

const WEB = [
  "nginx",
  "traefik",
  "caddy",
  "haproxy",
  "envoy",
  "httpd",
  "apache",
  "kong",
  "proxy",
  "frontend",
  "web",
  "webui",
];
// Admin consoles are web tier even though their names mention a data store.
const ADMIN_UI = ["pgadmin", "pgadmin4", "adminer", "phpmyadmin", "redisinsight", "kibana", "grafana"];
const UI_SUFFIX = ["ui", "gui", "webui", "frontend", "web", "dashboard", "console", "commander", "express", "admin"];

/** `docker.io/library/redis/redis-stack-server:7@sha256:…` → ["redis", "stack", "server"]. */
function imageTokens(image: string | undefined): string[] {
  if (!image) return [];
  const noDigest = image.split("@")[0] ?? "";
  const last = noDigest.split("/").pop() ?? "";
  const repo = last.split(":")[0] ?? "";
  return repo
    .toLowerCase()
    .split(/[-_.]+/)
    .filter(Boolean);
}

function nameTokens(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[-_.]+/)
    .filter(Boolean);
}

function tierOfTokens(tokens: string[]): { tier: Tier; token: string; why: string } | undefined {
  if (tokens.length === 0) return undefined;
  const admin = tokens.find((t) => ADMIN_UI.includes(t));
  if (admin) return { tier: "web", token: admin, why: "an admin UI" };
  const last = tokens[tokens.length - 1] ?? "";
  if (tokens.length > 1 && UI_SUFFIX.includes(last)) return { tier: "web", token: last, why: "a UI" };
  const data = tokens.find((t) => DATA.includes(t));
  if (data) return { tier: "data", token: data, why: "a data store" };
  const web = tokens.find((t) => WEB.includes(t) || t === "ui" || t === "gui");
  if (web) return { tier: "web", token: web, why: "a reverse proxy or UI" };
  return undefined;
}

export interface TierExplained {
  tier: Tier;
  /** Why, in words that go into generated policies' comments. */
  because: string;
}

/** Tier and the reason for it: the image decides when it is recognisable, then the name. */
export function explainTier(name: string, image?: string): TierExplained {
  const byImage = tierOfTokens(imageTokens(image));
  if (byImage) return { tier: byImage.tier, because: `image ${image} is ${byImage.why} (${byImage.token})` };
  const byName = tierOfTokens(nameTokens(name));
  if (byName) return { tier: byName.tier, because: `the name '${name}' marks ${byName.why} (${byName.token})` };
  return {
    tier: "agents",
    because: "neither a data store nor a proxy/UI: it runs the app's code, so it is contained like an agent",
  };
}

export function tierOf(name: string, image?: string): Tier {
  return explainTier(name, image).tier;
}

export function classifyService(s: Pick<Service, "name" | "containers">): Tier {
  return tierOf(s.name, s.containers[0]?.image);
}
