// Which tier a service belongs to, from its image and name. Pure and deliberately small:
// `corral init` reuses it to propose zones, and scan rules use it to spot data stores that
// share a network with agents. Anything neither data nor web is treated as an agent, because
// that is the safe assumption for unknown code in an agent stack.
import type { Service } from "../model/types.ts";

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

function tierOfTokens(tokens: string[]): Tier | undefined {
  if (tokens.length === 0) return undefined;
  if (tokens.some((t) => ADMIN_UI.includes(t))) return "web";
  const last = tokens[tokens.length - 1] ?? "";
  if (tokens.length > 1 && UI_SUFFIX.includes(last)) return "web";
  if (tokens.some((t) => DATA.includes(t))) return "data";
  if (tokens.some((t) => WEB.includes(t)) || tokens.includes("ui") || tokens.includes("gui")) return "web";
  return undefined;
}

/** Tier from a name and an image reference (the image decides when it is recognisable). */
export function tierOf(name: string, image?: string): Tier {
  return tierOfTokens(imageTokens(image)) ?? tierOfTokens(nameTokens(name)) ?? "agents";
}

export function classifyService(s: Pick<Service, "name" | "containers">): Tier {
  return tierOf(s.name, s.containers[0]?.image);
}
