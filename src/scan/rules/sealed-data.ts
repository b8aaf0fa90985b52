// Agent memory at rest: the data directories of Postgres, Redis, MongoDB and the vector stores,
// and whether the policy seals the volume they sit in (seal.volumes, corral seal). Runs with a
// policy. A data store with no volume at its data directory keeps its data in the container's
// writable layer: plaintext under the engine's data root, and lost on re-create. Where the
// engine writes somewhere else than the default (PGDATA, redis --dir, mongod --dbpath), that
// path is the one that must be sealed.
import type { Container, Mount, Service } from "../../model/types.ts";
import type { Hit, Rule, RuleContext } from "../types.ts";
import { type Flag, flags } from "./argv.ts";
import { envNamed, imageName } from "./settings.ts";
import { inCtr, perContainer, under } from "./util.ts";

interface Store {
  engine: string;
  images: RegExp;
  /** where the engine writes its data unless told otherwise */
  dataDir: (ctx: RuleContext, s: Service, c: Container) => string;
  /** other places it writes data to on disk by default (snapshots, temp tables, logs of queries) */
  extra?: (ctx: RuleContext, s: Service, c: Container) => Array<{ what: string; path: string }>;
}

const flagValue = (fs: Flag[], name: string) => fs.find((f) => f.name === name)?.value;
const valued = (n: string) => ["--dir", "--dbpath", "--config", "--appendfilename", "--tmpdir", "-c"].includes(n);

/** `postgres -c log_directory=/abs`: query logs outside PGDATA (relative ones stay inside). */
function postgresLogs(ctx: RuleContext, s: Service, c: Container): Array<{ what: string; path: string }> {
  return flags(ctx, s, c, valued)
    .filter((f) => f.name === "-c" && /^log_directory=\//.test(f.value ?? ""))
    .map((f) => ({
      what: "its server logs (which hold query text)",
      path: (f.value ?? "").slice("log_directory=".length),
    }));
}

const STORES: Store[] = [
  {
    engine: "Postgres",
    images:
      /(^|\/)(postgres|postgis\/postgis|pgvector\/pgvector|ankane\/pgvector|timescale\/timescaledb[\w-]*|bitnami\/postgresql)$/,
    dataDir: (_ctx, _s, c) =>
      envNamed(c, "PGDATA")?.value ||
      (/bitnami/.test(imageName(c)) ? "/bitnami/postgresql" : "/var/lib/postgresql/data"),
    extra: postgresLogs,
  },
  {
    engine: "Redis",
    images: /(^|\/)(redis|redis\/redis-stack(-server)?|valkey\/valkey|bitnami\/redis|eqalpha\/keydb)$/,
    dataDir: (ctx, s, c) =>
      flagValue(flags(ctx, s, c, valued), "--dir") ?? (/bitnami/.test(imageName(c)) ? "/bitnami/redis/data" : "/data"),
  },
  {
    engine: "MongoDB",
    images: /(^|\/)(mongo|mongodb\/mongodb-community-server|bitnami\/mongodb)$/,
    dataDir: (ctx, s, c) =>
      flagValue(flags(ctx, s, c, valued), "--dbpath") ??
      (/bitnami/.test(imageName(c)) ? "/bitnami/mongodb" : "/data/db"),
  },
  {
    engine: "Qdrant",
    images: /(^|\/)qdrant\/qdrant$/,
    dataDir: () => "/qdrant/storage",
    extra: (_ctx, _s, c) => [
      {
        what: "its snapshots (full copies of the collections)",
        path: envNamed(c, "QDRANT__STORAGE__SNAPSHOTS_PATH")?.value || "/qdrant/snapshots",
      },
    ],
  },
  {
    engine: "Weaviate",
    images: /(^|\/)(semitechnologies\/weaviate|cr\.weaviate\.io\/semitechnologies\/weaviate)$/,
    dataDir: (_ctx, _s, c) => envNamed(c, "PERSISTENCE_DATA_PATH")?.value || "/var/lib/weaviate",
  },
  {
    engine: "Chroma",
    images: /(^|\/)chromadb\/chroma$/,
    dataDir: (_ctx, _s, c) => envNamed(c, "PERSIST_DIRECTORY")?.value || "/data",
  },
  { engine: "Milvus", images: /(^|\/)milvusdb\/milvus$/, dataDir: () => "/var/lib/milvus" },
  {
    engine: "MySQL",
    images: /(^|\/)(mysql|mariadb|bitnami\/mysql|bitnami\/mariadb)$/,
    dataDir: () => "/var/lib/mysql",
    extra: (ctx, s, c) => [
      { what: "its on-disk temporary tables", path: flagValue(flags(ctx, s, c, valued), "--tmpdir") ?? "/tmp" },
    ],
  },
];

/** The mount the data directory is under (the deepest one). */
function mountOf(c: Container, dir: string): Mount | undefined {
  return c.mounts
    .filter((m) => under(dir.replace(/\/+$/, ""), m.target.replace(/\/+$/, "")))
    .sort((a, b) => b.target.length - a.target.length)[0];
}

function check(ctx: RuleContext): Hit[] {
  const sealed = new Set(ctx.policy?.sealedVolumes ?? []);
  return perContainer(ctx, (s, c) => {
    const store = STORES.find((st) => st.images.test(imageName(c)));
    if (!store) return undefined;
    const dir = store.dataDir(ctx, s, c);
    const m = mountOf(c, dir);
    if (!m)
      return {
        service: s,
        message: `keeps its ${store.engine} data (${dir}) in the container's writable layer${inCtr(s, c)}: plaintext under the engine's data root, and gone when the container is re-created`,
        pos: c.pos ?? s.pos,
      };
    const isSealed = (x: Mount | undefined) =>
      x !== undefined &&
      (x.type === "tmpfs" || (x.type === "volume" && x.source !== undefined && sealed.has(x.source)));
    if (isSealed(m)) {
      // The data is sealed: what the engine also writes elsewhere must be too.
      return (store.extra?.(ctx, s, c) ?? [])
        .filter((e) => !isSealed(mountOf(c, e.path)))
        .map((e) => ({
          service: s,
          message: `seals its ${store.engine} data but writes ${e.what} to ${e.path}, outside a sealed volume${inCtr(s, c)}`,
          pos: mountOf(c, e.path)?.pos ?? m.pos,
        }));
    }
    const what =
      m.type === "volume" ? `volume ${m.source}` : m.type === "bind" ? `bind mount ${m.source}` : `${m.type} mount`;
    if (m.type === "tmpfs") return undefined;
    return {
      service: s,
      message: `keeps its ${store.engine} data (${dir}) in ${what}, which the policy does not seal${inCtr(s, c)}: anyone who reads the host's disk reads it`,
      pos: m.pos,
    };
  });
}

export const sealedDataRules: Rule[] = [
  {
    id: "CRL-P004",
    title: "Data store's data not sealed",
    severity: "medium",
    family: "policy",
    cwe: "CWE-311",
    platforms: ["compose"],
    rationale:
      "Agent memory (conversations, embeddings, credentials the app stores) sits in the data store's files. In a plain volume or bind mount, whoever reads the host's filesystem (a plugin escape, a stolen disk, a backup) reads it in the clear; Redis and MongoDB Community have no encryption of their own.",
    fix: "seal:\n  key_service: { url: http://keys.example:7390, key: /etc/corral/keys.pub, token: /etc/corral/keys.token }\n  volumes:\n    pgdata: {}\n# then: corral seal init pgdata && corral seal unlock pgdata && corral compile",
    references: ["corral", "SuperAGI security review (agent memory at rest)"],
    check: (ctx) => (ctx.policy ? check(ctx) : []),
  },
];
