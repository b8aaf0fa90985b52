// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax is the subject here
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { InputError } from "../errors.ts";
import type { Deployment, Service } from "../types.ts";
import { composeFromText, loadCompose, readCompose } from "./index.ts";

/** In-memory project under /p. */
function project(
  files: Record<string, string>,
  main: string[] = ["/p/compose.yaml"],
  opts: Parameters<typeof loadCompose>[2] = {},
): Deployment {
  return loadCompose(main, (p) => files[p], opts);
}
function svc(d: Deployment, name: string): Service {
  const s = d.services.find((x) => x.name === name);
  assert.ok(s, `service ${name} missing; have ${d.services.map((x) => x.name).join(",")}`);
  return s;
}
const c = (d: Deployment, name: string) => svc(d, name).containers[0]!;

test("one container per service, named after it; image, build, user, privileged, read_only", () => {
  const d = composeFromText(
    "version: '3.8'\nservices:\n  a:\n    image: nginx\n    user: 1000\n    privileged: true\n    read_only: true\n  b:\n    build: .\n",
  );
  assert.equal(svc(d, "a").containers.length, 1);
  assert.deepEqual(
    {
      name: c(d, "a").name,
      image: c(d, "a").image,
      user: c(d, "a").user,
      priv: c(d, "a").privileged,
      ro: c(d, "a").readOnlyRootfs,
      build: c(d, "a").build,
    },
    { name: "a", image: "nginx", user: "1000", priv: true, ro: true, build: false },
  );
  assert.equal(c(d, "b").build, true);
  assert.equal(c(d, "b").privileged, false);
  // the obsolete version key changes nothing
  const noVersion = composeFromText(
    "services:\n  a:\n    image: nginx\n    user: 1000\n    privileged: true\n    read_only: true\n  b:\n    build: .\n",
  );
  assert.deepEqual(
    noVersion.services.map((s) => s.containers[0]),
    d.services.map((s) => ({
      ...s.containers[0]!,
      pos: { ...s.containers[0]!.pos, line: s.containers[0]!.pos.line - 1 },
    })),
  );
});

test("positions of values by dotted path as written", () => {
  const text = [
    "services:", //1
    "  db:", //2
    "    image: postgres", //3
    "    privileged: true", //4
    "    user: root", //5
    "    read_only: false", //6
    "    network_mode: host", //7
    "    restart: always", //8
    "    mem_limit: 512m", //9
    "    ports: ['5432:5432', '127.0.0.1:8080:80']", //10
    "    volumes:", //11
    "      - ./a:/a", //12
    "      - data:/data", //13
    "    environment:", //14
    "      - POSTGRES_PASSWORD=secret", //15
    "    security_opt: [seccomp:unconfined]", //16
    "    cap_add:", //17
    "      - NET_ADMIN", //18
    "    labels:", //19
    "      com.example.x: y", //20
    "    healthcheck:", //21
    "      test: [CMD, true]", //22
    "    deploy:", //23
    "      resources:", //24
    "        limits:", //25
    "          memory: 1g", //26
  ].join("\n");
  const d = composeFromText(text, { file: "/p/c.yaml" });
  const p = svc(d, "db").positions;
  const lc = (k: string) => (p[k] ? [p[k]!.line, p[k]!.col] : undefined);
  assert.deepEqual(svc(d, "db").pos, { file: "/p/c.yaml", line: 2, col: 3 });
  assert.deepEqual(lc("image"), [3, 5]);
  assert.deepEqual(lc("privileged"), [4, 5]);
  assert.deepEqual(lc("user"), [5, 5]);
  assert.deepEqual(lc("read_only"), [6, 5]);
  assert.deepEqual(lc("network_mode"), [7, 5]);
  assert.deepEqual(lc("restart"), [8, 5]);
  assert.deepEqual(lc("mem_limit"), [9, 5]);
  assert.deepEqual(lc("ports.0"), [10, 13]);
  assert.deepEqual(lc("ports.1"), [10, 26]);
  assert.deepEqual(lc("volumes.1"), [13, 9]);
  assert.deepEqual(lc("environment.POSTGRES_PASSWORD"), [15, 9]);
  assert.deepEqual(lc("security_opt.0"), [16, 20]);
  assert.deepEqual(lc("cap_add.0"), [18, 9]);
  assert.deepEqual(lc("labels.com.example.x"), [20, 7]);
  assert.deepEqual(lc("healthcheck"), [21, 5]);
  assert.deepEqual(lc("deploy.resources.limits.memory"), [26, 11]);
  assert.equal(svc(d, "db").ports[1]!.pos.col, 26);
  assert.equal(c(d, "db").env[0]!.pos.line, 15);
});

test("several -f files merge in order, positions from the contributing file", () => {
  const files = {
    "/p/compose.yaml": [
      "services:",
      "  web:",
      "    image: a",
      "    command: [x, y]",
      "    ports: ['80:80']",
      "    expose: ['3000']",
      "    dns: 1.1.1.1",
      "    environment: {A: '1', B: '2'}",
      "    labels: [l1=a]",
      "    networks: [front]",
      "    volumes: ['./a:/data', 'logs:/logs']",
      "    cap_add: [NET_ADMIN]",
      "networks:",
      "  front: {}",
    ].join("\n"),
    "/p/override.yaml": [
      "services:",
      "  web:",
      "    image: b",
      "    command: [z]",
      "    ports: ['80:80', '127.0.0.1:443:443']",
      "    expose: ['3000', '3001']",
      "    dns: [1.1.1.1, 9.9.9.9]",
      "    environment: [B=3, C=4]",
      "    labels: {l2: b}",
      "    networks: {back: {aliases: [w]}}",
      "    volumes: ['./b:/data']",
      "    cap_add: [NET_ADMIN, SYS_ADMIN]",
      "  extra:",
      "    image: e",
      "networks:",
      "  back: {internal: true}",
    ].join("\n"),
  };
  const d = project(files, ["/p/compose.yaml", "/p/override.yaml"]);
  const web = svc(d, "web");
  const wc = web.containers[0]!;
  assert.equal(wc.image, "b");
  assert.equal(web.positions["image"]?.file, "/p/override.yaml");
  assert.equal(web.pos.file, "/p/compose.yaml");
  assert.deepEqual(
    web.ports.map((p) => `${p.hostIp}:${p.hostPort?.from}`),
    ["0.0.0.0:80", "127.0.0.1:443"],
  );
  assert.deepEqual(
    wc.listens.map((l) => l.from),
    [3000, 3001, 80, 443],
  );
  assert.deepEqual(web.dns, ["1.1.1.1", "9.9.9.9"]);
  assert.deepEqual(Object.fromEntries(wc.env.map((e) => [e.name, e.value])), { A: "1", B: "3", C: "4" });
  assert.equal(wc.env.find((e) => e.name === "B")?.pos.file, "/p/override.yaml");
  assert.deepEqual(web.labels, { l1: "a", l2: "b" });
  assert.deepEqual(
    web.networks.map((n) => [n.network, n.aliases]),
    [
      ["front", []],
      ["back", ["w"]],
    ],
  );
  assert.deepEqual(
    wc.mounts.map((m) => `${m.source}:${m.target}`),
    ["logs:/logs", "/p/b:/data"],
  );
  assert.deepEqual(wc.capAdd, ["NET_ADMIN", "SYS_ADMIN"]);
  assert.deepEqual(
    d.networks.map((n) => [n.name, n.internal, n.implicit]),
    [
      ["front", false, false],
      ["back", true, false],
      ["default", false, true],
    ],
  );
  assert.ok(svc(d, "extra"));
  assert.deepEqual(d.files, ["/p/compose.yaml", "/p/override.yaml"]);
});

test("command/entrypoint replace; !reset and !override", () => {
  const files = {
    "/p/compose.yaml":
      "services:\n  a:\n    image: x\n    ports: ['1:1']\n    environment: {A: '1'}\n    entrypoint: [a, b]\n",
    "/p/o.yaml": "services:\n  a:\n    ports: !reset []\n    environment: !override {B: '2'}\n    entrypoint: [c]\n",
  };
  const d = project(files, ["/p/compose.yaml", "/p/o.yaml"]);
  assert.deepEqual(svc(d, "a").ports, []);
  assert.deepEqual(
    c(d, "a").env.map((e) => e.name),
    ["B"],
  );
  assert.equal(svc(d, "a").positions["entrypoint.0"]?.file, "/p/o.yaml");
  assert.equal(svc(d, "a").positions["entrypoint.1"], undefined);
});

test("!reset and !override on keys read in a short form: build, depends_on, environment as a list", () => {
  const files = {
    "/p/compose.yaml": [
      "services:",
      "  db: { image: postgres }",
      "  job: { image: x }",
      "  a:",
      "    build: .",
      "    depends_on: [db, job]",
      "    environment: [A=1]",
      "",
    ].join("\n"),
    "/p/o.yaml": [
      "services:",
      "  a:",
      "    image: y",
      "    build: !reset null",
      "    depends_on: !override [db]",
      "    environment: !override [B=2]",
      "",
    ].join("\n"),
  };
  const d = project(files, ["/p/compose.yaml", "/p/o.yaml"]);
  assert.equal(c(d, "a").build, false, "build: !reset null removes the build");
  assert.deepEqual(svc(d, "a").dependsOn, ["db"]);
  assert.deepEqual(
    c(d, "a").env.map((e) => e.name),
    ["B"],
  );
});

test("include: string and long form, relative paths, project_directory, env of the included project", () => {
  const files = {
    "/p/compose.yaml":
      "include:\n  - sub/base.yaml\n  - path: [other/o.yaml, other/o2.yaml]\n    project_directory: other\nservices:\n  app:\n    image: app\n    networks: [shared]\nnetworks:\n  shared: {}\n",
    "/p/sub/base.yaml":
      "services:\n  db:\n    image: ${DB_IMAGE}\n    env_file: db.env\n    networks: [shared]\nnetworks:\n  shared: {}\n",
    "/p/sub/.env": "DB_IMAGE=postgres:16\n",
    "/p/sub/db.env": "PGPASS=x\n",
    "/p/other/o.yaml": "services:\n  cache:\n    image: redis\n    env_file: c.env\n",
    "/p/other/o2.yaml": "services:\n  cache:\n    user: redis\n",
    "/p/other/c.env": "R=1\n",
  };
  const d = project(files);
  assert.deepEqual(d.services.map((s) => s.name).sort(), ["app", "cache", "db"]);
  assert.equal(c(d, "db").image, "postgres:16");
  assert.equal(svc(d, "db").pos.file, "/p/sub/base.yaml");
  assert.deepEqual(
    c(d, "db").env.map((e) => [e.name, e.value, e.pos.file]),
    [["PGPASS", "x", "/p/sub/db.env"]],
  );
  assert.equal(c(d, "cache").user, "redis");
  assert.deepEqual(
    c(d, "cache").env.map((e) => e.name),
    ["R"],
  );
  // the including project's variables win over the included project's .env
  const d2 = project(files, ["/p/compose.yaml"], { env: { DB_IMAGE: "mine" } });
  assert.equal(c(d2, "db").image, "mine");
  assert.deepEqual(d.files, ["/p/compose.yaml", "/p/sub/base.yaml", "/p/other/o.yaml", "/p/other/o2.yaml"]);
});

test("include cycles and missing includes are input errors", () => {
  const cyc = { "/p/compose.yaml": "include: [b.yaml]\nservices: {}\n", "/p/b.yaml": "include: [compose.yaml]\n" };
  assert.throws(
    () => project(cyc),
    (e: unknown) => e instanceof InputError && /include cycle/.test(e.message) && e.pos?.file === "/p/b.yaml",
  );
  assert.throws(
    () => project({ "/p/compose.yaml": "include: [gone.yaml]\n" }),
    (e: unknown) =>
      e instanceof InputError && /cannot read compose file \/p\/gone\.yaml/.test(e.message) && e.pos?.line === 1,
  );
  assert.throws(
    () =>
      project({
        "/p/compose.yaml": "include: [b.yaml]\nservices:\n  a: {image: x}\n",
        "/p/b.yaml": "services:\n  a: {image: y}\n",
      }),
    (e: unknown) => e instanceof InputError && /conflicts/.test(e.message),
  );
});

test("extends: same file, other file, chains; unknown service is an input error", () => {
  const files = {
    "/p/compose.yaml": [
      "services:",
      "  base:",
      "    image: base",
      "    environment: [A=1]",
      "    cap_drop: [ALL]",
      "  mid:",
      "    extends: base",
      "    environment: [B=2]",
      "  web:",
      "    extends: {service: mid}",
      "    image: web",
      "  remote:",
      "    extends: {file: common/c.yaml, service: tmpl}",
      "    ports: ['81:81']",
    ].join("\n"),
    "/p/common/c.yaml":
      "services:\n  tmpl:\n    image: tmpl\n    privileged: true\n    ports: ['80:80']\n    env_file: t.env\n",
    "/p/common/t.env": "T=1\n",
  };
  const d = project(files);
  assert.equal(c(d, "web").image, "web");
  assert.deepEqual(
    c(d, "web").env.map((e) => `${e.name}=${e.value}`),
    ["A=1", "B=2"],
  );
  assert.deepEqual(c(d, "web").capDrop, ["ALL"]);
  assert.equal(svc(d, "web").positions["cap_drop.0"]?.line, 5);
  assert.equal(c(d, "remote").privileged, true);
  assert.equal(svc(d, "remote").positions["privileged"]?.file, "/p/common/c.yaml");
  assert.deepEqual(
    svc(d, "remote").ports.map((p) => p.target.from),
    [80, 81],
  );
  // env_file relative to the extended file
  assert.deepEqual(
    c(d, "remote").env.map((e) => e.pos.file),
    ["/p/common/t.env"],
  );
  assert.throws(
    () => composeFromText("services:\n  a:\n    extends: nope\n"),
    (e: unknown) =>
      e instanceof InputError && /unknown service "nope"/.test(e.message) && e.pos?.line === 3 && !!e.hint,
  );
  assert.throws(() => composeFromText("services:\n  a:\n    extends: b\n  b:\n    extends: a\n"), /extends cycle/);
});

test("profiles: inactive unless enabled by option, COMPOSE_PROFILES or *", () => {
  const text =
    "services:\n  a: {image: a}\n  b: {image: b, profiles: [debug]}\n  c: {image: c, profiles: [gpu, cpu]}\n";
  const names = (d: Deployment) => d.services.map((s) => s.name);
  assert.deepEqual(names(composeFromText(text)), ["a"]);
  assert.deepEqual(names(composeFromText(text, { profiles: ["cpu"] })), ["a", "c"]);
  assert.deepEqual(names(composeFromText(text, { env: { COMPOSE_PROFILES: "debug,cpu" } })), ["a", "b", "c"]);
  assert.deepEqual(names(composeFromText(text, { files: { ".env": "COMPOSE_PROFILES=debug\n" } })), ["a", "b"]);
  assert.deepEqual(names(composeFromText(text, { profiles: ["*"] })), ["a", "b", "c"]);
  const dep = composeFromText("services:\n  a: {image: a, depends_on: [b]}\n  b: {image: b, profiles: [x]}\n");
  assert.ok(dep.diagnostics.some((x) => /profile is not enabled/.test(x.message) && x.pos?.line === 2));
  const optional = composeFromText(
    "services:\n  a:\n    image: a\n    depends_on:\n      b: {condition: service_healthy, required: false}\n  b: {image: b, profiles: [x], env_file: gone.env}\n",
  );
  assert.deepEqual(
    optional.diagnostics.filter((x) => !/no \.env/.test(x.message)),
    [],
    "optional dependency and an inactive service's env_file stay quiet",
  );
});

test("profiles: the empty profile '' is on unless COMPOSE_PROFILES or --profile name others (compose-go)", () => {
  const text =
    "services:\n  a: {image: a}\n  weaviate: {image: w, profiles: ['', weaviate]}\n  q: {image: q, profiles: [qdrant]}\n";
  const names = (d: Deployment) => d.services.map((s) => s.name);
  assert.deepEqual(names(composeFromText(text)), ["a", "weaviate"]);
  assert.deepEqual(names(composeFromText(text, { env: { COMPOSE_PROFILES: "" } })), ["a", "weaviate"]);
  assert.deepEqual(names(composeFromText(text, { env: { COMPOSE_PROFILES: "qdrant" } })), ["a", "q"]);
  assert.deepEqual(names(composeFromText(text, { profiles: ["qdrant"] })), ["a", "q"]);
});

test("project name: option > COMPOSE_PROJECT_NAME > name: > directory", () => {
  const text = "name: From-File\nservices:\n  a: {image: a}\n";
  assert.equal(composeFromText(text, { file: "/x/My Dir/compose.yaml" }).project, "from-file");
  assert.equal(composeFromText("services: {a: {image: a}}\n", { file: "/x/My.Dir/compose.yaml" }).project, "mydir");
  assert.equal(composeFromText(text, { env: { COMPOSE_PROJECT_NAME: "envname" } }).project, "envname");
  assert.equal(composeFromText(text, { files: { ".env": "COMPOSE_PROJECT_NAME=dotenv\n" } }).project, "dotenv");
  assert.equal(composeFromText(text, { projectName: "opt", env: { COMPOSE_PROJECT_NAME: "envname" } }).project, "opt");
});

test(".env and process env: process env wins; unset → empty + one warning per variable", () => {
  const text =
    "services:\n  a:\n    image: ${IMG}:${TAG:-latest}\n    user: $UID_X\n    labels: ['a=$MISSING', 'b=${MISSING}', 'c=$$literal']\n";
  const d = composeFromText(text, {
    files: { ".env": "IMG=fromdotenv\nTAG=1\nUID_X=7\n" },
    env: { IMG: "fromenv", TAG: undefined },
  });
  assert.equal(c(d, "a").image, "fromenv:1");
  assert.equal(c(d, "a").user, "7");
  assert.deepEqual(svc(d, "a").labels, { a: "", b: "", c: "$literal" });
  const warnings = d.diagnostics.filter((x) => /MISSING/.test(x.message));
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.pos?.line, 5);
  const noDotenv = composeFromText("services: {a: {image: $IMAGE_UNSET}}\n");
  assert.ok(noDotenv.diagnostics.some((x) => x.severity === "warning" && /no \.env/.test(x.message)));
  const nothingUnset = composeFromText("services: {a: {image: '${IMG:-a}'}}\n");
  assert.ok(!nothingUnset.diagnostics.some((x) => /no \.env/.test(x.message)), "no .env is fine when nothing is unset");
});

test("${VAR:?err} unset throws InputError at the value", () => {
  assert.throws(
    () =>
      composeFromText("services:\n  a:\n    image: x\n    environment:\n      P: ${P:?set P}\n", { file: "/p/c.yaml" }),
    (e: unknown) =>
      e instanceof InputError && e.pos?.line === 5 && e.pos.col === 10 && /required variable P/.test(e.message),
  );
});

test("network_mode forms", () => {
  const d = composeFromText(
    [
      "services:",
      "  h: {image: x, network_mode: host}",
      "  n: {image: x, network_mode: none}",
      "  s: {image: x, network_mode: 'service:h'}",
      "  k: {image: x, network_mode: 'container:abc'}",
      "  b: {image: x, network_mode: bridge}",
      "  d: {image: x, network_mode: default}",
      "  p: {image: x}",
    ].join("\n"),
  );
  assert.deepEqual(svc(d, "h").networkMode, { kind: "host" });
  assert.deepEqual(svc(d, "h").networks, []);
  assert.deepEqual(svc(d, "n").networkMode, { kind: "none" });
  assert.deepEqual(svc(d, "s").networkMode, { kind: "service", target: "h" });
  assert.deepEqual(svc(d, "k").networkMode, { kind: "container", target: "abc" });
  assert.deepEqual(svc(d, "b").networkMode, { kind: "bridge" });
  // docker's own bridge network, not the project's default network
  assert.deepEqual(
    svc(d, "b").networks.map((n) => n.network),
    ["bridge"],
  );
  assert.deepEqual(
    svc(d, "d").networks.map((n) => n.network),
    ["bridge"],
  );
  assert.deepEqual(
    svc(d, "p").networks.map((n) => n.network),
    ["default"],
  );
  const nets = Object.fromEntries(d.networks.map((n) => [n.name, n]));
  assert.equal(nets["default"]?.implicit, true);
  assert.equal(nets["default"]?.fullName, "project_default");
  assert.equal(nets["bridge"]?.external, true);
  assert.throws(
    () => composeFromText("services:\n  a: {image: x, network_mode: host, networks: [n]}\nnetworks: {n: {}}\n"),
    (e: unknown) => e instanceof InputError && /both network_mode and networks/.test(e.message),
  );
});

test("implicit default network only when some service uses it", () => {
  const d = composeFromText("services:\n  a: {image: x, networks: [n]}\nnetworks:\n  n: {}\n");
  assert.deepEqual(
    d.networks.map((n) => n.name),
    ["n"],
  );
  const declared = composeFromText(
    "services:\n  a: {image: x}\nnetworks:\n  default:\n    name: custom\n    driver: overlay\n",
  );
  assert.deepEqual(
    declared.networks.map((n) => [n.name, n.fullName, n.implicit, n.driver]),
    [["default", "custom", false, "overlay"]],
  );
  assert.throws(
    () => composeFromText("services:\n  a: {image: x, networks: [nope]}\n"),
    (e: unknown) => e instanceof InputError && /undefined network "nope"/.test(e.message) && e.pos?.line === 2,
  );
});

test("service networks as list or map (aliases, ipv4_address, null), top-level network details", () => {
  const text = [
    "services:",
    "  a:",
    "    image: x",
    "    networks:",
    "      front:",
    "      back:",
    "        aliases: [api, api2]",
    "        ipv4_address: 10.5.0.10",
    "        ipv6_address: fd00::10",
    "networks:",
    "  front:",
    "    internal: true",
    "  back:",
    "    driver: bridge",
    "    driver_opts:",
    "      com.docker.network.bridge.name: br-back",
    "    ipam:",
    "      config:",
    "        - subnet: 10.5.0.0/24",
    "        - subnet: fd00::/64",
    "  ext:",
    "    external: true",
    "    name: real-ext",
    "  legacy:",
    "    external:",
    "      name: old-style",
  ].join("\n");
  const d = composeFromText(text, { projectName: "proj" });
  const a = svc(d, "a");
  assert.deepEqual(a.networks, [
    { network: "front", aliases: [], pos: { file: "/project/compose.yaml", line: 5, col: 7 } },
    {
      network: "back",
      aliases: ["api", "api2"],
      ipv4: "10.5.0.10",
      ipv6: "fd00::10",
      pos: { file: "/project/compose.yaml", line: 6, col: 7 },
    },
  ]);
  assert.deepEqual(a.positions["networks.back"]?.line, 6);
  const n = Object.fromEntries(d.networks.map((x) => [x.name, x]));
  assert.equal(n["front"]?.internal, true);
  assert.equal(n["front"]?.fullName, "proj_front");
  assert.deepEqual(n["back"]?.subnets, ["10.5.0.0/24", "fd00::/64"]);
  assert.equal(n["back"]?.bridgeName, "br-back");
  assert.equal(n["back"]?.driver, "bridge");
  assert.deepEqual([n["ext"]?.external, n["ext"]?.fullName], [true, "real-ext"]);
  assert.deepEqual([n["legacy"]?.external, n["legacy"]?.fullName], [true, "old-style"]);
  assert.equal(n["ext"]?.pos?.line, 21);
});

test("ports short and long syntax with variables; bad ports warn and are skipped", () => {
  const text = [
    "services:",
    "  a:",
    "    image: x",
    "    ports:",
    "      - '3000'",
    "      - 8080:80",
    "      - 127.0.0.1:${HP}:80",
    "      - '[::1]:8081:81'",
    "      - '9090-9091:8080-8081/udp'",
    "      - target: 443",
    "        published: '8443'",
    "        host_ip: 10.0.0.1",
    "        protocol: tcp",
    "        mode: host",
    "      - ${UNSET_PORT}:${UNSET_PORT}",
    "      - target: 53",
    "        published: 5353",
    "        protocol: udp",
    "    expose: ['7000', '7001-7002/udp', 8000]",
  ].join("\n");
  const d = composeFromText(text, { env: { HP: "8081" } });
  const a = svc(d, "a");
  const fmt = a.ports.map(
    (p) =>
      `${p.hostIp}${p.hostIpDefaulted ? "*" : ""}|${p.hostPort ? `${p.hostPort.from}-${p.hostPort.to}` : "-"}|${p.target.from}-${p.target.to}/${p.protocol}`,
  );
  assert.deepEqual(fmt, [
    "0.0.0.0*|-|3000-3000/tcp",
    "0.0.0.0*|8080-8080|80-80/tcp",
    "127.0.0.1|8081-8081|80-80/tcp",
    "::1|8081-8081|81-81/tcp",
    "0.0.0.0*|9090-9091|8080-8081/udp",
    "10.0.0.1|8443-8443|443-443/tcp",
    "0.0.0.0*|5353-5353|53-53/udp",
  ]);
  assert.equal(a.ports[5]!.pos.line, 10);
  assert.ok(d.diagnostics.some((x) => /port ":" ignored/.test(x.message) && x.pos?.line === 15));
  assert.deepEqual(
    a.containers[0]!.listens.map((l) => `${l.from}-${l.to}/${l.protocol}`),
    [
      "7000-7000/tcp",
      "7001-7002/udp",
      "8000-8000/tcp",
      "3000-3000/tcp",
      "80-80/tcp",
      "81-81/tcp",
      "8080-8081/udp",
      "443-443/tcp",
      "53-53/udp",
    ],
  );
});

test("volumes short and long, tmpfs", () => {
  const text = [
    "services:",
    "  a:",
    "    image: x",
    "    volumes:",
    "      - ./a:/b:ro",
    "      - named:/n",
    "      - /abs:/c:rw,z",
    "      - /anon",
    "      - type: bind",
    "        source: /var/run/docker.sock",
    "        target: /var/run/docker.sock",
    "        read_only: true",
    "        bind:",
    "          propagation: rshared",
    "      - type: tmpfs",
    "        target: /scratch",
    "    tmpfs: /run",
  ].join("\n");
  const m = c(composeFromText(text), "a").mounts.map(({ pos, ...rest }) => ({ ...rest, line: pos.line }));
  assert.deepEqual(m, [
    { type: "bind", source: "/project/a", target: "/b", readOnly: true, line: 5 },
    { type: "volume", source: "named", target: "/n", readOnly: false, line: 6 },
    { type: "bind", source: "/abs", target: "/c", readOnly: false, line: 7 },
    { type: "volume", target: "/anon", readOnly: false, line: 8 },
    {
      type: "bind",
      source: "/var/run/docker.sock",
      target: "/var/run/docker.sock",
      readOnly: true,
      propagation: "rshared",
      line: 9,
    },
    { type: "tmpfs", target: "/scratch", readOnly: false, line: 15 },
    { type: "tmpfs", target: "/run", readOnly: false, line: 17 },
  ]);
});

test("security settings, namespaces, resources, misc", () => {
  const text = [
    "services:",
    "  a:",
    "    image: x",
    "    cap_add: [SYS_ADMIN]",
    "    cap_drop: [ALL]",
    "    security_opt: [no-new-privileges=true, 'seccomp=unconfined', 'apparmor:unconfined']",
    "    pids_limit: 100",
    "    mem_limit: 512m",
    "    cpus: '0.5'",
    "    devices: ['/dev/kfd', {source: /dev/dri, target: /dev/dri, permissions: rwm}]",
    "    ipc: host",
    "    pid: host",
    "    uts: host",
    "    userns_mode: host",
    "    restart: unless-stopped",
    "    dns: 8.8.8.8",
    "    extra_hosts: ['host.docker.internal:host-gateway']",
    "  b:",
    "    image: x",
    "    mem_limit: 1gb",
    "    deploy:",
    "      resources:",
    "        limits: {memory: 256M, cpus: 2, pids: 50}",
    "    extra_hosts:",
    "      db: 10.0.0.5",
    "    security_opt: ['no-new-privileges:true']",
    "    healthcheck:",
    "      disable: true",
    "  c:",
    "    image: x",
    "    security_opt: [no-new-privileges]",
    "    healthcheck:",
    "      test: curl -f http://localhost",
  ].join("\n");
  const d = composeFromText(text);
  const a = c(d, "a");
  assert.deepEqual(
    [a.capAdd, a.capDrop, a.noNewPrivileges, a.seccomp, a.apparmor],
    [["SYS_ADMIN"], ["ALL"], true, "unconfined", "unconfined"],
  );
  assert.deepEqual(a.securityOpt, ["no-new-privileges=true", "seccomp=unconfined", "apparmor:unconfined"]);
  assert.deepEqual(a.resources, { memory: 512 * 1024 ** 2, cpus: 0.5, pids: 100 });
  assert.deepEqual(a.devices, ["/dev/kfd", "/dev/dri:/dev/dri:rwm"]);
  const sa = svc(d, "a");
  assert.deepEqual([sa.ipc, sa.pid, sa.uts, sa.userns, sa.restart], ["host", "host", "host", "host", "unless-stopped"]);
  assert.deepEqual(sa.dns, ["8.8.8.8"]);
  assert.deepEqual(sa.extraHosts, ["host.docker.internal:host-gateway"]);
  assert.deepEqual(c(d, "b").resources, { memory: 256 * 1024 ** 2, cpus: 2, pids: 50 });
  assert.deepEqual(svc(d, "b").extraHosts, ["db:10.0.0.5"]);
  assert.equal(c(d, "b").noNewPrivileges, true);
  assert.equal(c(d, "b").healthcheck?.disabled, true);
  assert.equal(c(d, "c").noNewPrivileges, true);
  assert.deepEqual(c(d, "c").healthcheck, {
    disabled: false,
    test: ["CMD-SHELL", "curl -f http://localhost"],
    pos: { file: "/project/compose.yaml", line: 32, col: 5 },
  });
  assert.equal(c(d, "c").seccomp, undefined);
});

test("environment forms and env_file (string, list, long form, missing)", () => {
  const text = [
    "services:",
    "  a:",
    "    image: x",
    "    env_file: a.env",
    "    environment:",
    "      - LIST=1",
    "      - BARE",
    "      - SHARED=inline",
    "  b:",
    "    image: x",
    "    env_file:",
    "      - b1.env",
    "      - path: b2.env",
    "        required: false",
    "      - path: missing.env",
    "        required: false",
    "      - gone.env",
    "    environment:",
    "      NUM: 5",
    "      BOOL: true",
    "      NUL:",
    "      STR: s",
  ].join("\n");
  const files = {
    "a.env": "# c\nFROM_FILE=f\nSHARED=file\n",
    "b1.env": "X=1\nY=1\n",
    "b2.env": "Y=2\n",
  };
  const d = composeFromText(text, { files });
  const envOf = (n: string) => c(d, n).env.map((e) => [e.name, e.value ?? null, e.from]);
  assert.deepEqual(envOf("a"), [
    ["FROM_FILE", "f", "env_file"],
    ["LIST", "1", "inline"],
    ["BARE", null, "inline"],
    ["SHARED", "inline", "inline"],
  ]);
  assert.deepEqual(envOf("b"), [
    ["X", "1", "env_file"],
    ["Y", "2", "env_file"],
    ["NUM", "5", "inline"],
    ["BOOL", "true", "inline"],
    ["NUL", null, "inline"],
    ["STR", "s", "inline"],
  ]);
  assert.deepEqual(c(d, "a").env[0]!.pos, { file: "/project/a.env", line: 2, col: 1 });
  const missing = d.diagnostics.filter((x) => /env_file/.test(x.message));
  assert.equal(missing.length, 1);
  assert.match(missing[0]!.message, /gone\.env not found/);
  assert.equal(missing[0]!.pos?.line, 17);
});

test("labels and depends_on in list and map forms", () => {
  const d = composeFromText(
    [
      "services:",
      "  a:",
      "    image: x",
      "    labels: [x=1, y]",
      "    depends_on: [b]",
      "  b:",
      "    image: x",
      "    labels: {z: '2'}",
      "    depends_on:",
      "      c: {condition: service_healthy}",
      "  c: {image: x}",
    ].join("\n"),
  );
  assert.deepEqual(svc(d, "a").labels, { x: "1", y: "" });
  assert.deepEqual(svc(d, "b").labels, { z: "2" });
  assert.deepEqual(svc(d, "a").dependsOn, ["b"]);
  assert.deepEqual(svc(d, "b").dependsOn, ["c"]);
  assert.equal(svc(d, "a").positions["labels.x"]?.line, 4);
});

test("anchors and merge keys in compose files", () => {
  const text = [
    "x-common: &common",
    "  image: shared",
    "  networks: [n]",
    "  environment: {A: '1'}",
    "services:",
    "  a:",
    "    <<: *common",
    "  b:",
    "    <<: *common",
    "    image: own",
    "networks: {n: {}}",
  ].join("\n");
  const d = composeFromText(text);
  assert.equal(c(d, "a").image, "shared");
  assert.equal(c(d, "b").image, "own");
  assert.deepEqual(
    svc(d, "b").networks.map((n) => n.network),
    ["n"],
  );
  assert.equal(svc(d, "a").positions["image"]?.line, 2);
  assert.ok(!d.diagnostics.some((x) => /unknown/.test(x.message)));
});

test("unknown keys warn with their position; YAML errors and missing files throw", () => {
  const d = composeFromText("servics: {}\nservices:\n  a:\n    image: x\n    privilidged: true\n");
  assert.ok(d.diagnostics.some((x) => /unknown top-level key "servics"/.test(x.message) && x.pos?.line === 1));
  assert.ok(d.diagnostics.some((x) => /unknown key "privilidged"/.test(x.message) && x.pos?.line === 5));
  assert.throws(
    () => composeFromText("services:\n  a:\n    image: [x\n", { file: "/p/c.yaml" }),
    (e: unknown) => e instanceof InputError && e.pos?.file === "/p/c.yaml" && typeof e.pos.line === "number",
  );
  assert.throws(
    () => readCompose(["/nonexistent/compose.yaml"], { env: {} }),
    (e: unknown) => e instanceof InputError && /cannot read compose file/.test(e.message),
  );
});

test("readCompose reads from disk: .env, env_file, relative include", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-compose-"));
  try {
    writeFileSync(join(dir, ".env"), "PORT=8088\n");
    writeFileSync(join(dir, "app.env"), "K=v\n");
    writeFileSync(join(dir, "inc.yaml"), "services:\n  inc: {image: i}\n");
    writeFileSync(
      join(dir, "compose.yaml"),
      "include: [inc.yaml]\nservices:\n  web:\n    image: w\n    ports: ['127.0.0.1:${PORT}:80']\n    env_file: app.env\n",
    );
    const d = readCompose([join(dir, "compose.yaml")], { env: {} });
    assert.deepEqual(
      d.services.map((s) => s.name),
      ["inc", "web"],
    );
    assert.equal(svc(d, "web").ports[0]?.hostPort?.from, 8088);
    assert.deepEqual(
      c(d, "web").env.map((e) => e.value),
      ["v"],
    );
    assert.equal(d.diagnostics.length, 0, JSON.stringify(d.diagnostics));
    // readFile override is honoured
    const viaHook = readCompose(["/virtual/compose.yaml"], {
      env: {},
      readFile: (p) => {
        if (p === "/virtual/compose.yaml") return "services: {v: {image: v}}\n";
        throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      },
    });
    assert.deepEqual(
      viaHook.services.map((s) => s.name),
      ["v"],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a generated 2,000-service compose reads well under 1.5 s", () => {
  const lines = ["networks: {front: {}, back: {}}", "services:"];
  for (let i = 0; i < 2000; i++) {
    lines.push(
      `  svc${i}:`,
      `    image: img${i}:\${TAG:-latest}`,
      `    networks: [front, back]`,
      `    ports: ['127.0.0.1:${10000 + i}:80']`,
      `    environment: ['A=${i}', 'B=\${B:-x}']`,
      `    volumes: ['./d${i}:/data:ro']`,
      `    depends_on: [svc${i === 0 ? 1 : 0}]`,
      `    security_opt: [no-new-privileges:true]`,
    );
  }
  const text = lines.join("\n");
  // Its speed is measured against plain YAML parsing in bench/scan (readCompose row), not here.
  const d = composeFromText(text);
  assert.equal(d.services.length, 2000);
  assert.equal(d.networks.filter((n) => !n.implicit).length, 2);
});

test("later -f files resolve env_file against the project directory; projectDirectory moves .env", () => {
  const files = {
    "/p/compose.yaml": "services:\n  a: {image: a}\n",
    "/p/over/o.yaml": "services:\n  a: {env_file: a.env, image: '${IMG}'}\n",
    "/p/a.env": "K=1\n",
    "/p/.env": "IMG=from-p\n",
    "/q/.env": "IMG=from-q\n",
  };
  const d = project(files, ["/p/compose.yaml", "/p/over/o.yaml"]);
  assert.deepEqual(
    c(d, "a").env.map((e) => e.pos.file),
    ["/p/a.env"],
  );
  assert.equal(c(d, "a").image, "from-p");
  const q = project(files, ["/p/compose.yaml", "/p/over/o.yaml"], { projectDirectory: "/q" });
  assert.equal(c(q, "a").image, "from-q");
  assert.equal(q.project, "q");
});

test("include long form with its own env_file", () => {
  const files = {
    "/p/compose.yaml": "include:\n  - path: lib/c.yaml\n    env_file: [lib/vars.env, lib/missing.env]\n",
    "/p/lib/c.yaml": "services:\n  x: {image: '${X_IMAGE}'}\n",
    "/p/lib/vars.env": "X_IMAGE=xi\n",
  };
  const d = project(files);
  assert.equal(c(d, "x").image, "xi");
  assert.ok(d.diagnostics.some((x) => /missing\.env not found/.test(x.message) && x.pos?.line === 3));
});

test("bare environment names take the shell's, then .env's value; unset env_file names are dropped", () => {
  const files = {
    "/p/compose.yaml":
      "services:\n  a:\n    image: x\n    env_file: a.env\n    environment:\n      - FROM_SHELL\n      - FROM_DOTENV\n      - UNSET\n      - EMPTY=\n",
    "/p/.env": "FROM_DOTENV=d\nFROM_SHELL=loses\nIN_FILE_SHELL=loses\n",
    "/p/a.env": "IN_FILE=1\nIN_FILE_SHELL\nIN_FILE_UNSET\n",
  };
  const d = project(files, ["/p/compose.yaml"], { env: { FROM_SHELL: "s", IN_FILE_SHELL: "fs" } });
  assert.deepEqual(
    c(d, "a").env.map((e) => [e.name, e.value ?? null]),
    [
      ["IN_FILE", "1"],
      ["IN_FILE_SHELL", "fs"],
      ["FROM_SHELL", "s"],
      ["FROM_DOTENV", "d"],
      ["UNSET", null],
      ["EMPTY", ""],
    ],
  );
});

test("bind sources: relative to each file's project directory, `~` from the environment's HOME", () => {
  const files = {
    "/p/compose.yaml":
      "include: [sub/inc.yaml]\nservices:\n  a:\n    image: x\n    volumes:\n      - ./data/:/data/\n      - ~/.cache:/cache:ro\n      - type: bind\n        source: conf\n        target: /conf\n      - named:/named\n",
    "/p/sub/inc.yaml": "services:\n  b:\n    image: x\n    volumes: [../shared:/s, ./own:/o]\n",
  };
  const mounts = (d: Deployment, n: string) => c(d, n).mounts.map((m) => `${m.type} ${m.source}:${m.target}`);
  const d = project(files, ["/p/compose.yaml"], { env: { HOME: "/home/u" } });
  assert.deepEqual(mounts(d, "a"), [
    "bind /p/data:/data",
    "bind /home/u/.cache:/cache",
    "bind /p/conf:/conf",
    "volume named:/named",
  ]);
  assert.deepEqual(mounts(d, "b"), ["bind /p/shared:/s", "bind /p/sub/own:/o"]);
  // without HOME compose cannot expand `~` and leaves it
  assert.equal(mounts(project(files), "a")[1], "bind ~/.cache:/cache");
});

test("relative includes resolve from the project directory, not the including file's", () => {
  const files = {
    "/src/compose.yaml": "include: [base.yaml]\nservices:\n  a: {image: x}\n",
    "/src/base.yaml": "services:\n  wrong: {image: x}\n",
    "/proj/base.yaml": "services:\n  right: {image: x}\n",
  };
  const d = project(files, ["/src/compose.yaml"], { projectDirectory: "/proj" });
  assert.deepEqual(d.services.map((s) => s.name).sort(), ["a", "right"]);
});
