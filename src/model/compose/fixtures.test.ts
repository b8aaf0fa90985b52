// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax is the subject here
// Every shared compose fixture reads without throwing, and its topology matches the reviewed
// golden summary. Regenerate with CORRAL_UPDATE_GOLDEN=1, then review the diff by hand.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { composeFixtureFiles, fixture, sharedSkip } from "../../testing/shared.ts";
import { InputError } from "../errors.ts";
import type { Deployment } from "../types.ts";
import { readCompose } from "./index.ts";

const skip = sharedSkip();
const goldenPath = join(dirname(fileURLToPath(import.meta.url)), "fixtures.golden.json");

/** Variables a fixture marks as required (`${VAR:?…}`); compose itself refuses to run without them. */
const REQUIRED_ENV: Record<string, Record<string, string>> = {
  "mem0/docker-compose.yaml": { POSTGRES_PASSWORD: "fixture-password" },
};

function summary(all: Deployment, byDefault: Deployment) {
  return {
    project: all.project,
    activeByDefault: byDefault.services.map((s) => s.name),
    services: Object.fromEntries(
      all.services.map((s) => [
        s.name,
        {
          networkMode:
            s.networkMode.kind === "service" || s.networkMode.kind === "container"
              ? `${s.networkMode.kind}:${s.networkMode.target}`
              : s.networkMode.kind,
          networks: s.networks.map((n) => n.network),
          ports: s.ports.map(
            (p) =>
              `${p.hostIp}${p.hostIpDefaulted ? "(default)" : ""}:${p.hostPort ? (p.hostPort.from === p.hostPort.to ? p.hostPort.from : `${p.hostPort.from}-${p.hostPort.to}`) : "ephemeral"}->${p.target.from === p.target.to ? p.target.from : `${p.target.from}-${p.target.to}`}/${p.protocol}`,
          ),
          ...(s.profiles.length ? { profiles: s.profiles } : {}),
        },
      ]),
    ),
    networks: all.networks.map(
      (n) => `${n.name}=${n.fullName}${n.implicit ? " (implicit)" : ""}${n.external ? " (external)" : ""}`,
    ),
  };
}

test("all 14 shared compose fixtures read and match the golden summary", { skip }, () => {
  const files = composeFixtureFiles();
  assert.equal(files.length, 14, `expected 14 compose fixtures, found ${files.join(", ")}`);
  const got: Record<string, unknown> = {};
  for (const f of files) {
    const path = fixture("compose", f);
    const env = REQUIRED_ENV[f] ?? {};
    const all = readCompose([path], { env, profiles: ["*"] });
    const byDefault = readCompose([path], { env });
    assert.ok(all.services.length > 0, `${f}: no services`);
    for (const d of all.diagnostics) assert.equal(d.severity, "warning", `${f}: ${d.message}`);
    // a stack that names a missing env_file is reported, not fatal
    const text = readFileSync(path, "utf8");
    if (/env_file/.test(text)) {
      assert.ok(
        all.diagnostics.some((d) => /env_file .* not found/.test(d.message)),
        `${f}: missing env_file not reported`,
      );
    }
    got[f] = summary(all, byDefault);
  }
  if (process.env.CORRAL_UPDATE_GOLDEN === "1") writeFileSync(goldenPath, `${JSON.stringify(got, null, 2)}\n`);
  const golden = JSON.parse(readFileSync(goldenPath, "utf8")) as Record<string, unknown>;
  assert.deepEqual(got, golden);
});

test("superagi: celery and super__postgres share super_network", { skip }, () => {
  const d = readCompose([fixture("compose", "superagi", "docker-compose.yaml")], { env: {} });
  const nets = (name: string) => d.services.find((s) => s.name === name)?.networks.map((n) => n.network);
  assert.deepEqual(nets("celery"), ["super_network"]);
  assert.deepEqual(nets("super__postgres"), ["super_network"]);
  const proxy = d.services.find((s) => s.name === "proxy")!;
  assert.equal(proxy.ports[0]?.hostIp, "0.0.0.0");
  assert.equal(proxy.ports[0]?.hostIpDefaulted, true);
  assert.deepEqual(proxy.positions["ports.0"], {
    file: fixture("compose", "superagi", "docker-compose.yaml"),
    line: 62,
    col: 9,
  });
  const pg = d.services.find((s) => s.name === "super__postgres")!;
  assert.equal(pg.positions["environment.POSTGRES_PASSWORD"]?.line, 49);
});

test("ragflow: include of docker-compose-base.yml brings its services with their own positions", { skip }, () => {
  const main = fixture("compose", "ragflow", "docker-compose.yml");
  const base = fixture("compose", "ragflow", "docker-compose-base.yml");
  const d = readCompose([main], { env: {}, profiles: ["*"] });
  const minio = d.services.find((s) => s.name === "minio")!;
  assert.equal(minio.pos.file, base);
  assert.deepEqual(
    minio.networks.map((n) => n.network),
    ["ragflow"],
  );
  assert.equal(d.services.find((s) => s.name === "ragflow-cpu")?.pos.file, main);
  assert.ok(d.files.includes(base));
  // with no profile enabled only the profile-less services run
  const def = readCompose([main], { env: {} });
  assert.deepEqual(def.services.map((s) => s.name).sort(), ["minio", "redis"]);
  const cpu = readCompose([main], { env: { COMPOSE_PROFILES: "cpu,mysql" } });
  assert.deepEqual(cpu.services.map((s) => s.name).sort(), ["minio", "mysql", "ragflow-cpu", "redis"]);
});

test("mem0: ${POSTGRES_PASSWORD:?…} unset is an input error with its position", { skip }, () => {
  const path = fixture("compose", "mem0", "docker-compose.yaml");
  assert.throws(
    () => readCompose([path], { env: {} }),
    (e: unknown) =>
      e instanceof InputError && e.pos?.file === path && e.pos.line === 40 && /POSTGRES_PASSWORD/.test(e.message),
  );
});
