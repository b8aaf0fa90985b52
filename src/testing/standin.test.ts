// The stand-in override is read back by Corral's own compose reader, merged over the shipped file
// as Compose merges a second -f: what the stack tests run is what Corral then contains.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadCompose } from "../model/compose/read.ts";
import { parsePolicy } from "../policy/index.ts";
import { STANDIN_PROGRAM, standinOverride } from "./standin.ts";

const SHIPPED = `name: shop
services:
  app:
    build: .
    command: ["/app/wait-for-it.sh", "db:5432", "--", "serve"]
    expose: ["8000"]
    depends_on:
      db: { condition: service_healthy }
      migrate: { condition: service_completed_successfully }
  migrate:
    image: ghcr.io/acme/migrate:2
    entrypoint: /bin/sh -c "migrate up"
  db:
    image: postgres:16
    healthcheck: { test: ["CMD-SHELL", "pg_isready"], interval: 5s }
  cache:
    image: redis:7
    ports: ["127.0.0.1:6379:6379"]
`;
const POLICY = parsePolicy(
  `version: 1
zones:
  data: { services: [db, cache] }
  apps: { services: [app, migrate] }
flows:
  - { from: app, to: data, ports: [5432/tcp, 7000-7999/tcp] }
  - { from: app, to: cache, ports: [53/udp] }
`,
  "/project/corral.yaml",
).policy;

const read = (files: Record<string, string>) => loadCompose(Object.keys(files), (p) => files[p], { env: {} });

test("stand-in override: one image under each shipped name, listening where the model and the policy say", () => {
  const shipped = read({ "/project/compose.yaml": SHIPPED });
  const o = standinOverride(shipped, POLICY);
  assert.deepEqual(o.images, [
    "corral-standin/acme/migrate:2",
    "corral-standin/postgres:16",
    "corral-standin/redis:7",
    "corral-standin/shop-app:built",
  ]);
  assert.deepEqual(o.ports, {
    app: ["8000/tcp"],
    cache: ["53/udp", "5432/tcp", "6379/tcp", "7000/tcp", "7999/tcp"],
    db: ["5432/tcp", "7000/tcp", "7999/tcp"],
    migrate: [],
  });

  const merged = read({ "/project/compose.yaml": SHIPPED, "/project/standin.yml": o.yaml });
  const svc = (name: string) => merged.services.find((s) => s.name === name)!.containers[0]!;
  assert.equal(svc("app").build, false, "the build is reset");
  assert.equal(svc("app").command, undefined, "the shipped command is reset");
  assert.equal(svc("app").image, "corral-standin/shop-app:built");
  assert.deepEqual(svc("db").healthcheck?.test, ["CMD", "node", STANDIN_PROGRAM, "--health"]);
  assert.equal(svc("cache").healthcheck, undefined, "no healthcheck where none was shipped");
  assert.equal(svc("db").env.find((e) => e.name === "STANDIN_PORTS")?.value, "5432/tcp 7000/tcp 7999/tcp");
  // The shipped networks and published ports are untouched.
  assert.deepEqual(
    merged.services.find((s) => s.name === "cache")!.ports.map((p) => `${p.hostIp}:${p.hostPort?.from}`),
    ["127.0.0.1:6379"],
  );
  // The one-shot never exits as a stand-in: it is awaited started, the database still healthy.
  assert.match(
    o.yaml,
    /depends_on: !override \{"db":\{"condition":"service_healthy"\},"migrate":\{"condition":"service_started"\}\}/,
  );
});
