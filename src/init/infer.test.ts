import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readCompose } from "../model/compose/index.ts";
import { parsePolicy } from "../policy/load.ts";
import { runCli } from "../testing/cli.ts";
import { fixture, PROJECT_ROOT, sharedSkip } from "../testing/shared.ts";
import { inferPolicy } from "./infer.ts";
import { renderPolicy } from "./render.ts";

const tmp = mkdtempSync(join(tmpdir(), "corral-init-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function zoneMembers(inferred: ReturnType<typeof inferPolicy>) {
  return Object.fromEntries(Object.entries(inferred.zones).map(([z, ms]) => [z, ms.map((m) => m.service).sort()]));
}

test("SuperAGI fixture: data, web and agents as a reviewer would put them", { skip: sharedSkip() }, () => {
  const d = readCompose([fixture("compose", "superagi", "docker-compose.yaml")], { env: {} });
  const inferred = inferPolicy(d.services, d.project);
  assert.deepEqual(zoneMembers(inferred), {
    web: ["gui", "proxy"],
    agents: ["backend", "celery"],
    data: ["super__postgres", "super__redis"],
  });
  const flows = inferred.flows.map(
    (f) => `${f.from}>${f.to}:${f.ports.map((p) => `${p.from}/${p.protocol}`).join(",")}`,
  );
  assert.deepEqual(flows, [
    "backend>super__postgres:5432/tcp",
    "backend>super__redis:6379/tcp",
    "celery>super__postgres:5432/tcp",
    "celery>super__redis:6379/tcp",
  ]);
  assert.match(inferred.flows[2]!.evidence[0]!.text, /^depends_on \(docker-compose\.yaml:20\)$/);
  // gui and backend are built locally with no declared port: the flow is proposed, commented.
  assert.deepEqual(
    inferred.incomplete.map((f) => `${f.from}>${f.to}`),
    ["proxy>backend", "proxy>gui"],
  );
  const text = renderPolicy(inferred, ["docker-compose.yaml"]);
  assert.match(
    text,
    /- backend .*\n\s+# backend is called by the web tier \(proxy\): it is the app's API\. It stays in agents/,
  );
  assert.match(
    text,
    /- \{ service: proxy, port: 80\/tcp, host: 127\.0\.0\.1:3000 \}\s+# was: port 3000 on every interface/,
  );
  assert.match(text, /^egress: \[\]$/m);
  parsePolicy(text, "corral.yaml");
});

test("bundled example: flows inferred from the environment too, with ports from URLs", () => {
  const d = readCompose([join(PROJECT_ROOT, "examples", "superagi", "docker-compose.yml")], { env: {} });
  const inferred = inferPolicy(d.services, d.project);
  const celeryToPg = inferred.flows.find((f) => f.from === "celery" && f.to === "super__postgres")!;
  assert.deepEqual(
    celeryToPg.evidence.map((e) => e.text.split(" ")[0]),
    ["depends_on", "DATABASE_URL"],
  );
  const proxyToBackend = inferred.flows.find((f) => f.from === "proxy" && f.to === "backend")!;
  assert.deepEqual(proxyToBackend.ports, [{ from: 8001, to: 8001, protocol: "tcp" }], "from backend's expose");
});

test("*_HOST / *_PORT pairs and URLs without depends_on are inferred", () => {
  const file = join(tmp, "hostport.yml");
  writeFileSync(
    file,
    `services:
  worker:
    image: acme/worker:1
    environment:
      QDRANT_HOST: vectors
      QDRANT_PORT: "6334"
      CACHE_URL: redis://cache
      OTHER_URL: https://api.example.com/x
  vectors:
    image: qdrant/qdrant:v1.9.0
  cache:
    image: valkey/valkey:8
`,
  );
  const d = readCompose([file], { env: {} });
  const flows = inferPolicy(d.services).flows.map((f) => `${f.from}>${f.to}:${f.ports.map((p) => p.from).join(",")}`);
  assert.deepEqual(flows, ["worker>cache:6379", "worker>vectors:6334"]);
});

test("flows to the Docker host: a port from the environment, or a commented proposal from host-gateway", () => {
  const file = join(tmp, "host.yml");
  writeFileSync(
    file,
    `services:
  rag_api:
    image: acme/rag:1
    environment:
      OLLAMA_BASE_URL: http://host.docker.internal:11434
    extra_hosts:
      - "host.docker.internal:host-gateway"
  sandbox:
    image: acme/sandbox:1
    extra_hosts:
      - "host.docker.internal:host-gateway"
  plain:
    image: acme/plain:1
    environment:
      DOCS: https://host.example.com/
`,
  );
  const d = readCompose([file], { env: {} });
  const inferred = inferPolicy(d.services);
  const flows = inferred.flows.map((f) => `${f.from}>${f.to}:${f.ports.map((p) => p.from).join(",")}`);
  assert.deepEqual(flows, ["rag_api>host:11434"]);
  assert.deepEqual(
    inferred.incomplete.map((f) => `${f.from}>${f.to}`),
    ["sandbox>host"],
  );
  const text = renderPolicy(inferred, [file]);
  assert.match(
    text,
    /- \{ from: rag_api, to: host, ports: \[11434\/tcp\] \}\s+# OLLAMA_BASE_URL \(host\.yml:\d+\); extra_hosts/,
  );
  assert.match(text, /# - \{ from: sandbox, to: host, ports: \[PORT\/tcp\] \}/);
  // What init proposes is a policy Corral accepts as written.
  const { policy } = parsePolicy(text, join(tmp, "corral.yaml"));
  assert.deepEqual(policy.flows.find((f) => f.from.includes("rag_api"))?.to, ["host"]);
});

test("OpenHands fixture: its sandbox host proposed, with the extra_hosts line as evidence", {
  skip: sharedSkip(),
}, () => {
  const d = readCompose([fixture("compose", "openhands", "docker-compose.yml")], { env: {} });
  const inferred = inferPolicy(d.services);
  const toHost = [...inferred.flows, ...inferred.incomplete].filter((f) => f.to === "host");
  assert.ok(toHost.length > 0, "a flow to the host is proposed");
  assert.ok(
    toHost.some((f) =>
      f.evidence.some((e) =>
        /extra_hosts host\.docker\.internal:host-gateway \(docker-compose\.yml:\d+\)/.test(e.text),
      ),
    ),
  );
});

test("corral init writes a policy that loads, and never overwrites without --force", {
  skip: sharedSkip(),
}, async () => {
  const compose = fixture("compose", "superagi", "docker-compose.yaml");
  const first = await runCli(["init", "-f", compose], { cwd: tmp });
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /wrote corral\.yaml \(web: 2, agents: 2, data: 2; 4 flows/);
  parsePolicy(readFileSync(join(tmp, "corral.yaml"), "utf8"), "corral.yaml");
  writeFileSync(join(tmp, "corral.yaml"), "# mine\n");
  const second = await runCli(["init", "-f", compose], { cwd: tmp });
  assert.equal(second.code, 2);
  assert.match(second.err, /corral\.yaml already exists\n {2}hint: pass --force/);
  assert.equal(readFileSync(join(tmp, "corral.yaml"), "utf8"), "# mine\n");
  const forced = await runCli(["init", "-f", compose, "--force"], { cwd: tmp });
  assert.equal(forced.code, 0);
  assert.notEqual(readFileSync(join(tmp, "corral.yaml"), "utf8"), "# mine\n");
});
