// The gate as users get it: built from docker/gate/Dockerfile on a real Docker Engine (sealed in
// a network namespace), started by `docker compose` from the shipped file plus Corral's overlay,
// healthy on /readyz, and the only way out for the agent: a denied name is refused at the gate,
// a direct connection has no route. The agent holds a placeholder for its LLM key; the gate
// sends the real one to the HTTPS origin, and the agent's environment never has it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { placeholderFor } from "../policy/placeholder.ts";
import { runCli } from "../testing/cli.ts";
import {
  compileOverlay,
  type Engine,
  importNodeImage,
  startEngine,
  startUpstream,
  type Upstream,
} from "../testing/engine.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { makeOriginPki } from "../testing/tls-origin.ts";
import type { LiveResult } from "./verify-live.ts";

const skip = privilegedSkip({ commands: ["dockerd", "docker", "busybox", "tar", "nft", "ip", "nsenter", "openssl"] });
let engine: Engine | undefined;
const dir = mkdtempSync(join(tmpdir(), "corral-gate-image-"));

// The internet, for the gate (testing/engine.ts startUpstream, 10.203.9.0/30).
let upstream: Upstream | undefined;

before(async () => {
  if (skip) return;
  engine = await startEngine();
  // The LLM API's stand-in: HTTPS on the upstream, with a CA of its own.
  mkdirSync(join(dir, "tls"));
  makeOriginPki(join(dir, "tls"), ["api.llm.test"]);
  upstream = await startUpstream(engine, 9, join(dir, "tls"));
});
after(async () => {
  await engine
    ?.docker(["compose", "--project-directory", join(dir, "app"), "-p", "gimg", "down", "-v", "-t", "1"])
    .catch(() => undefined);
  await upstream?.stop();
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const COMPOSE = `services:
  web:
    image: acme/agent:1
    command: ["nc", "-ll", "-p", "8080", "-e", "cat"]
    ports: ["8080:8080"]
  agent:
    image: acme/agent:1
    command: ["sleep", "3600"]
    environment:
      OPENAI_API_KEY: \${OPENAI_API_KEY}
  db:
    image: acme/db:1
    command: ["nc", "-ll", "-p", "5432", "-e", "cat"]
    ports: ["5432:5432"]
`;
const POLICY = `version: 1
zones:
  web: { services: [web] }
  agents: { services: [agent] }
  data: { services: [db] }
flows:
  - { from: web, to: agents, ports: [8000/tcp] }
  - { from: agents, to: data, ports: [5432/tcp] }
  - { from: agent, to: host, ports: [11434/tcp] }
publish:
  - { service: web, port: 8080/tcp, host: 0.0.0.0:18080 }
egress:
  - { from: agents, allow: [allowed.test:80, api.llm.test:443] }
credentials:
  llm:
    value: { env: OPENAI_API_KEY }
    for: agents
    to: { host: api.llm.test, methods: [POST], paths: [/v1/chat/completions] }
# The test's upstream namespace stands in for the internet: its DNS server, and its address let
# through the SSRF floor (it is private).
dns: { upstreams: ["10.203.9.2:53"], timeout: 1s, retries: 1 }
floor: { allow_ranges: [10.203.9.2/32] }
gate:
  state_dir: ./.corral/gate
audit:
  path: ./.corral/audit
`;

const REAL_KEY = "sk-proj-REAL-engine-test-key-0123456789abcdefghijklmnop";

// Building the gate image is most of this test; on a loaded machine it can take minutes.
test("gate image: built from the Dockerfile, started by compose with the overlay, the agent's only way out", {
  skip,
  timeout: 900_000,
}, async () => {
  const e = engine!;
  await importNodeImage(e, "corral-test/node:24");
  for (const tag of ["acme/agent:1", "acme/db:1"]) await e.docker(["tag", "corral-test/node:24", tag]);
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app/docker-compose.yml"), COMPOSE);
  writeFileSync(join(dir, "corral.yaml"), POLICY);
  await compileOverlay(dir);
  // The stand-in API's CA is private: the gate container trusts it the way any Node process
  // does, through NODE_EXTRA_CA_CERTS (a compose file of the user's, beside the overlay).
  writeFileSync(
    join(dir, "app/gate-ca.yml"),
    `services:\n  corral-gate:\n    environment: { NODE_EXTRA_CA_CERTS: /run/corral/origin-ca.crt }\n    volumes: ["${join(dir, "tls/origin-ca.crt")}:/run/corral/origin-ca.crt:ro"]\n`,
  );

  // Compose builds the gate from Corral's own Dockerfile, the base image given as users give it.
  const compose = (args: string[], timeoutMs?: number) =>
    e.docker(
      [
        "compose",
        "-p",
        "gimg",
        "-f",
        join(dir, "app/docker-compose.yml"),
        "-f",
        join(dir, "out/compose.corral.yml"),
        "-f",
        join(dir, "app/gate-ca.yml"),
        ...args,
      ],
      timeoutMs ? { timeoutMs } : {},
    );
  e.env.CORRAL_GATE_BASE_IMAGE = "corral-test/node:24";
  // The real key, where compose reads it for the gate (a user's .env or shell).
  e.env.OPENAI_API_KEY = REAL_KEY;
  try {
    await compose(["up", "-d", "--wait"], 300_000);
  } catch (err) {
    // Why the gate did not become healthy is in its own log.
    const logs = await compose(["logs", "corral-gate"]).catch((e: Error) => e.message);
    throw new Error(`${(err as Error).message}\ngate log:\n${logs}`);
  }

  const gateId = (await compose(["ps", "-q", "corral-gate"])).trim();
  const state = JSON.parse(await e.docker(["inspect", gateId])) as Array<{
    State: { Health?: { Status: string } };
    Config: { User: string };
    HostConfig: { ReadonlyRootfs: boolean };
  }>;
  assert.equal(state[0]?.State.Health?.Status, "healthy", "healthcheck on /readyz");
  assert.equal(state[0]?.Config.User, "10001:10001");
  assert.equal(state[0]?.HostConfig.ReadonlyRootfs, true);
  // The policy's relative audit and state paths did not crash it: both live in the state volume.
  const files = await compose(["exec", "-T", "corral-gate", "sh", "-c", "ls /var/lib/corral /var/lib/corral/audit"]);
  assert.match(files, /audit/);
  assert.match(files, /gate/);

  // Probes in Node, which the stand-in images carry: busybox's static name lookups crash there.
  const probe = (script: string) => compose(["exec", "-T", "agent", "node", "-e", script]);
  // A plain proxy request to the HTTP_PROXY the overlay gave the agent: the status line is the answer.
  const proxyScript = (url: string) =>
    `const u = new URL(process.env.HTTP_PROXY);` +
    `const s = require("net").connect(Number(u.port), u.hostname, () => s.write("GET ${url} HTTP/1.1\\r\\nHost: " + new URL(${JSON.stringify(url)}).host + "\\r\\nConnection: close\\r\\n\\r\\n"));` +
    `let got = ""; s.on("data", (d) => { got += d; }); s.on("end", () => { console.log(got.split("\\r\\n")[0]); process.exit(0); });` +
    `s.on("error", (e) => { console.log("error=" + e.code); process.exit(0); });`;
  const connectScript = (host: string, port: number) =>
    `const s = require("net").connect(${port}, ${JSON.stringify(host)});` +
    `s.on("connect", () => { console.log("open"); process.exit(0); });` +
    `s.on("error", (e) => { console.log("error=" + e.code); process.exit(0); });` +
    `setTimeout(() => { console.log("timeout"); process.exit(0); }, 2000);`;
  const denied = await probe(proxyScript("http://denied.test/"));
  assert.match(denied, /^HTTP\/1\.1 403/, "a denied name is refused by the gate (the agent's HTTP_PROXY)");
  // The upstream itself answers the host: only the gate may reach it.
  const direct = await probe(connectScript(upstream!.address, 80));
  assert.doesNotMatch(direct, /open/, "no direct way out");
  // The declared flow to the database holds through the zone networks, by service name.
  assert.match(await probe(connectScript("db", 5432)), /open/);

  // The agent calls the API as an SDK does: fetch through its HTTPS_PROXY, its own key from its
  // environment, the gate CA from the overlay's NODE_EXTRA_CA_CERTS.
  const call = (path: string) =>
    probe(
      `fetch("https://api.llm.test${path}", { method: "POST", headers: { authorization: "Bearer " + process.env.OPENAI_API_KEY }, body: "{}" })` +
        `.then((r) => r.text().then((t) => console.log(r.status + " " + t)), (e) => console.log("error=" + (e.cause?.code ?? e.message)))`,
    );
  const brokered = await call("/v1/chat/completions");
  assert.match(brokered, /^200 /, brokered);
  assert.equal(
    (JSON.parse(brokered.slice(4)) as { authorization: string }).authorization,
    `Bearer ${REAL_KEY}`,
    "the origin got the real key",
  );
  const outside = await call("/v1/files");
  assert.match(outside, /^403 /, "a path the credential is not bound to is refused");
  const env = await compose(["exec", "-T", "agent", "/bin/busybox", "env"]);
  assert.ok(!env.includes(REAL_KEY), "the agent's environment has no real key");
  assert.match(env, new RegExp(`^OPENAI_API_KEY=${placeholderFor("", "llm", "agent", "openai")}$`, "m"));
  assert.match(env, /^NODE_EXTRA_CA_CERTS=\/etc\/corral\/ca\/ca\.crt$/m);
  const gateLog = await compose(["logs", "corral-gate"]);
  assert.match(gateLog, /"corral\.credentials":\["llm"\]/, "the brokered use is on the decision line");
  assert.ok(!gateLog.includes(REAL_KEY), "and the gate's log never has the value");

  // A replica started later is still the agent to the gate: it learns the new address from the
  // engine's DNS on first contact (no static map), so the agents' allowlist applies to it; an
  // unknown source would be refused (403) for every name.
  await compose(["up", "-d", "--no-recreate", "--scale", "agent=2"], 120_000);
  const viaReplica = (index: string, url: string) =>
    compose(["exec", "-T", "--index", index, "agent", "node", "-e", proxyScript(url)]);
  for (const index of ["1", "2"]) {
    const allowed = await viaReplica(index, "http://allowed.test/");
    assert.match(
      allowed,
      /^HTTP\/1\.1 200/,
      `replica ${index} is identified: the allowed name is served by the upstream`,
    );
    const refused = await viaReplica(index, "http://denied.test/");
    assert.match(refused, /^HTTP\/1\.1 403/, `replica ${index}: a denied name is still refused`);
  }
});

// The project as the engine-facing commands name it.
const projectArgs = () => [
  "--policy",
  "corral.yaml",
  "-f",
  "app/docker-compose.yml",
  "--project",
  "gimg",
  "--netns",
  engine!.netns,
];
const verifyArgs = (format: string) => ["verify", "--live", ...projectArgs(), "--format", format];

test("verify --live: every cell as the policy says with the host rules, red without them", { skip }, async () => {
  const e = engine!;
  const env = { DOCKER_HOST: e.host };
  const enforced = await runCli(["enforce", ...projectArgs(), "--once"], { cwd: dir, env });
  assert.equal(enforced.code, 0, enforced.err);

  const green = await runCli(verifyArgs("json"), { cwd: dir, env });
  const result = JSON.parse(green.out) as LiveResult;
  const wrong = result.cells.filter((c) => c.observed !== c.expected);
  assert.deepEqual(wrong, [], "every cell as the policy says");
  assert.equal(green.code, 0, green.err);
  assert.equal(result.hostRules, "loaded");
  const find = (from: RegExp, to: RegExp, port: number) =>
    result.cells.filter((c) => from.test(c.from) && to.test(c.to) && c.port === port && c.protocol === "tcp");
  // Per replica (agent#1, agent#2), the declared flow and the ways out.
  assert.equal(find(/^agent#\d$/, /^db$/, 5432).length, 2);
  assert.ok(
    find(/^agent#\d$/, /^db$/, 5432).every((c) => c.observed),
    "declared flow open for each replica",
  );
  assert.ok(
    find(/^agent#\d$/, /^\(host\)$/, 11434).every((c) => c.observed),
    "the flow to the host",
  );
  assert.ok(
    find(/^db$/, /^\(host\)$/, 11434).every((c) => !c.observed),
    "no other service reaches the host",
  );
  assert.ok(
    find(/^agent#\d$/, /allowed\.test:80 via gate/, 3128).every((c) => c.observed),
    "an allowed name through the gate",
  );
  assert.ok(
    find(/^agent#\d$/, /denied\.invalid.* via gate/, 3128).every((c) => !c.observed),
    "a denied one refused",
  );
  assert.ok(
    find(/^agent#\d$/, /direct/, 443).every((c) => !c.observed),
    "no direct way out",
  );
  assert.ok(
    find(/^corral-gate$/, /direct/, 443).every((c) => c.observed),
    "the gate's own way out",
  );
  assert.ok(
    find(/^\(outside\)$/, /^web$/, 8080).every((c) => c.observed),
    "published beyond loopback",
  );
  assert.ok(
    find(/^\(outside\)$/, /^db$/, 5432).every((c) => !c.observed),
    "the shipped db port is not published",
  );

  // TAP and JUnit say the same.
  const tap = await runCli(verifyArgs("tap"), { cwd: dir, env });
  assert.equal(tap.code, 0);
  assert.match(tap.out, /^TAP version 13\n1\.\.\d+/);
  assert.doesNotMatch(tap.out, /^not ok/m);
  const junit = await runCli(verifyArgs("junit"), { cwd: dir, env });
  assert.match(junit.out, /<testsuites name="corral verify" tests="\d+" failures="0">/);

  // Without the host rules the same stack is red, and the report says why.
  await runNft(e.netns, ["delete", "table", "inet", "corral"]);
  const red = await runCli(verifyArgs("text"), { cwd: dir, env });
  assert.equal(red.code, 1, "exit 1 without the host rules");
  assert.match(red.out, /table inet corral is NOT loaded/);
  assert.match(red.out, /\d+ mismatches/);
  assert.match(red.out, /agent#\d\s+db\s+\d+\/tcp\s+deny\s+open\s+MISMATCH/, "undeclared ports of db are open");
});

async function runNft(netns: string, args: string[]): Promise<void> {
  await promisify(execFile)("ip", ["netns", "exec", netns, "nft", ...args]);
}
