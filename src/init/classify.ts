// Which tier a service belongs to when nobody has said: data stores by image, web by reverse
// proxy / UI image or name, agents for the rest (they run the app's code and call out).
import type { Service } from "../model/types.ts";

export type Tier = "data" | "web" | "agents";

export interface Classification {
  tier: Tier;
  /** Why, in words that go into the generated policy's comments. */
  because: string;
}

const DATA_IMAGES = [
  "postgres",
  "postgis",
  "pgvector",
  "timescaledb",
  "mysql",
  "mariadb",
  "percona",
  "mongo",
  "redis",
  "redis-stack",
  "redis-stack-server",
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
  "cassandra",
  "scylla",
  "etcd",
  "couchdb",
  "rabbitmq",
  "nats",
  "kafka",
  "zookeeper",
  "pgbouncer",
  "meilisearch",
  "typesense",
  "supabase/postgres",
  "ankane/pgvector",
];
const WEB_IMAGES = ["nginx", "traefik", "caddy", "haproxy", "envoy", "httpd", "apache", "openresty", "kong"];
const WEB_NAME = /(^|[-_])(proxy|nginx|traefik|caddy|gateway|gui|ui|web|frontend|front|dashboard|console|www)($|[-_])/i;
const DATA_NAME =
  /(^|[-_])(db|postgres|postgresql|pg|mysql|mariadb|mongo|mongodb|redis|valkey|cache|qdrant|weaviate|milvus|chroma|vectordb|elastic|elasticsearch|opensearch|minio|neo4j|clickhouse|etcd)($|[-_])/i;

/** `docker.io/library/postgres:15` → `postgres`; `redis/redis-stack-server:latest` → `redis/redis-stack-server`. */
export function imageRepository(image: string): string {
  const noDigest = image.split("@")[0]!;
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  const noTag = colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  return noTag
    .replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, "")
    .replace(/^library\//, "")
    .toLowerCase();
}

function imageMatches(repo: string, names: string[]): string | undefined {
  const base = repo.split("/").pop()!;
  return names.find((n) => repo === n || base === n || base.startsWith(`${n}-`) || repo.endsWith(`/${n}`));
}

export function classifyService(service: Service): Classification {
  const image = service.containers[0]?.image;
  if (image) {
    const repo = imageRepository(image);
    const data = imageMatches(repo, DATA_IMAGES);
    if (data) return { tier: "data", because: `image ${repo} is a data store (${data})` };
    const web = imageMatches(repo, WEB_IMAGES);
    if (web) return { tier: "web", because: `image ${repo} is a reverse proxy / web server (${web})` };
  }
  if (DATA_NAME.test(service.name)) return { tier: "data", because: `the name '${service.name}' is a data store's` };
  if (WEB_NAME.test(service.name)) return { tier: "web", because: `the name '${service.name}' is a proxy's or UI's` };
  return {
    tier: "agents",
    because: "neither a data store nor a proxy/UI: it runs the app's code, so it is contained like an agent",
  };
}
