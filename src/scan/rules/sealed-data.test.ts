// CRL-P004 on real compose text: a data store's data directory in a plain volume, a bind mount
// or the container layer is reported; in a volume the policy seals it is not; engines that
// write elsewhere are judged by where they write.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readDeployment } from "../../model/load.ts";
import { computeReachability } from "../../model/reachability.ts";
import { parsePolicy } from "../../policy/index.ts";
import { policyView } from "../policy-view.ts";
import { scan } from "../scan.ts";
import { sourcesFrom } from "../sources.ts";

const COMPOSE = `services:
  postgres:
    image: pgvector/pgvector:pg16
    volumes: [pgdata:/var/lib/postgresql/data]
  redis:
    image: redis:7
    command: redis-server --dir /srv/redis --appendonly yes
    volumes: [redisdata:/data]
  qdrant:
    image: qdrant/qdrant
    volumes: ["./qdrant:/qdrant/storage"]
  mongo:
    image: mongo:7
  cache:
    image: redis:7
    volumes: [cachedata:/data]
  vectors:
    image: qdrant/qdrant
    volumes: [qdrantdata:/qdrant/storage]
  sql:
    image: mariadb:11
    volumes: [sqldata:/var/lib/mysql]
  pglogged:
    image: postgres:16
    command: postgres -c log_directory=/var/log/pg
    volumes: [pglogdata:/var/lib/postgresql/data]
volumes: { pgdata: {}, redisdata: {}, cachedata: {}, qdrantdata: {}, sqldata: {}, pglogdata: {} }
`;

function findings(seal: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "corral-p004-"));
  try {
    const file = join(dir, "docker-compose.yml");
    writeFileSync(file, COMPOSE);
    const deployment = readDeployment([file], { env: {} });
    const loaded = parsePolicy(`version: 1\n${seal}`, join(dir, "corral.yaml"));
    const r = scan({
      deployment,
      reach: computeReachability(deployment),
      sources: sourcesFrom({ [file]: COMPOSE }),
      policy: policyView(loaded, deployment),
    });
    return r.findings.filter((f) => f.ruleId === "CRL-P004").map((f) => `${f.service}: ${f.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("every data store's data is reported until its volume is sealed", () => {
  const none = findings("");
  assert.equal(none.length, 8, none.join("\n"));
  assert.ok(none.some((f) => /^postgres: .*volume pgdata, which the policy does not seal/.test(f)));
  assert.ok(
    none.some((f) => /^redis: .*\(\/srv\/redis\) in the container's writable layer/.test(f)),
    "redis --dir is where it writes",
  );
  assert.ok(none.some((f) => /^qdrant: .*bind mount .*qdrant/.test(f)));
  assert.ok(none.some((f) => /^mongo: .*\/data\/db.*writable layer/.test(f)));
  const sealed = findings(
    "seal:\n  key_service: { url: http://k:7390, key: k.pub, token: k.token }\n  volumes: { pgdata: {}, cachedata: {} }\n",
  );
  assert.equal(sealed.length, 6, sealed.join("\n"));
  assert.ok(!sealed.some((f) => f.startsWith("postgres:") || f.startsWith("cache:")));
});

test("with the data sealed, what the engine also writes elsewhere is reported", () => {
  const all = findings(
    "seal:\n  key_service: { url: http://k:7390, key: k.pub, token: k.token }\n  volumes: { qdrantdata: {}, sqldata: {}, pglogdata: {} }\n",
  );
  assert.ok(
    all.some((f) => /^vectors: seals its Qdrant data but writes its snapshots .* to \/qdrant\/snapshots/.test(f)),
    all.join("\n"),
  );
  assert.ok(all.some((f) => /^sql: seals its MySQL data but writes its on-disk temporary tables to \/tmp/.test(f)));
  assert.ok(
    all.some((f) => /^pglogged: seals its Postgres data but writes its server logs .* to \/var\/log\/pg/.test(f)),
  );
});
