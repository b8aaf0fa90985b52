// A first policy that lets the app work, on a 7-service chat stack of the shape users run (nginx,
// API, admin panel, MongoDB, Meilisearch, a RAG API, pgvector): the admin panel's port comes from
// its own PORT, the LLM calls the empty egress would refuse are named, and the API published beside
// the reverse proxy that already serves it is flagged.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readCompose } from "../model/compose/index.ts";
import { parsePolicy } from "../policy/load.ts";
import { runCli } from "../testing/cli.ts";
import { egressNeeds } from "./egress.ts";
import { inferPolicy, settingPorts } from "./infer.ts";
import { renderPolicy } from "./render.ts";

const tmp = mkdtempSync(join(tmpdir(), "corral-first-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CHAT = `services:
  nginx:
    image: nginx:1.27-alpine
    ports: ["80:80"]
    depends_on: [api, admin]
  api:
    image: acme/chat-api:1
    ports: ["3080:3080"]
    environment:
      MONGO_URI: mongodb://mongodb:27017/chat
      MEILI_HOST: http://meilisearch:7700
      RAG_API_URL: http://rag_api:8000
      OPENAI_API_KEY: \${OPENAI_API_KEY}
      ANTHROPIC_API_KEY: \${ANTHROPIC_API_KEY}
      PROXY: ""
    depends_on: [mongodb, meilisearch, rag_api]
  admin:
    image: acme/chat-admin:1
    environment:
      PORT: "3000"
      API_URL: http://api:3080
  mongodb:
    image: mongo:7
  meilisearch:
    image: getmeili/meilisearch:v1.7
  rag_api:
    image: acme/rag-api:1
    command: ["uvicorn", "main:app", "--port", "8000"]
    environment:
      DB_HOST: vectordb
      DB_PORT: "5432"
      OPENAI_BASE_URL: https://api.openai.com/v1
      OLLAMA_BASE_URL: http://host.docker.internal:11434
    depends_on: [vectordb]
  vectordb:
    image: pgvector/pgvector:0.7.0-pg16
`;

function chat() {
  const file = join(tmp, "docker-compose.yml");
  writeFileSync(file, CHAT);
  return { file, d: readCompose([file], { env: {} }) };
}

const svc = (d: ReturnType<typeof chat>["d"], name: string) => d.services.find((s) => s.name === name)!;

test("ports from a service's own settings: PORT, --port; another service's *_PORT is not its own", () => {
  const { d } = chat();
  assert.deepEqual(
    settingPorts(svc(d, "admin")).map((p) => p.from),
    [3000],
  );
  assert.deepEqual(
    settingPorts(svc(d, "rag_api")).map((p) => p.from),
    [8000],
  );
  assert.deepEqual(settingPorts(svc(d, "api")), [], "MONGO_URI and friends name other services");
  const flows = inferPolicy(d.services).flows.map((f) => `${f.from}>${f.to}:${f.ports.map((p) => p.from).join(",")}`);
  assert.ok(flows.includes("nginx>admin:3000"), `nginx reaches the admin panel on its PORT: ${flows.join(" ")}`);
  assert.ok(flows.includes("api>rag_api:8000"));
  assert.ok(flows.includes("rag_api>vectordb:5432"));
});

test("calls out: provider keys and external base URLs are named, the stack's own and the host's are not", () => {
  const { d } = chat();
  assert.deepEqual(
    egressNeeds(d.services).map((n) => [n.service, n.destinations]),
    [
      ["api", ["api.anthropic.com:443", "api.openai.com:443"]],
      ["rag_api", ["api.openai.com:443"]],
    ],
  );
  const text = renderPolicy(inferPolicy(d.services), ["docker-compose.yml"]);
  assert.match(
    text,
    /# - \{ from: api, allow: \[api\.anthropic\.com:443, api\.openai\.com:443\] \}\s+# OPENAI_API_KEY \(docker-compose\.yml:\d+\)/,
  );
  assert.match(text, /# - \{ from: rag_api, allow: \[api\.openai\.com:443\] \}\s+# OPENAI_BASE_URL/);
  // The proposals are comments: the policy still loads, and still denies until reviewed.
  assert.deepEqual(parsePolicy(text, join(tmp, "corral.yaml")).policy.egress, []);
});

test("a service published beside the reverse proxy that serves it is flagged", () => {
  const { d } = chat();
  const inferred = inferPolicy(d.services);
  assert.equal(inferred.publish.find((p) => p.service === "api")?.behind, "nginx");
  assert.equal(inferred.publish.find((p) => p.service === "nginx")?.behind, undefined);
  assert.match(
    renderPolicy(inferred, ["docker-compose.yml"]),
    /# api is reached through nginx, which is published: drop this entry to keep api off the host\./,
  );
});

test("corral init warns which services lose their calls under the empty egress", async () => {
  chat();
  const r = await runCli(["init", "-f", "docker-compose.yml", "-o", "corral.yaml", "--force"], { cwd: tmp });
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.err,
    /warning: egress is empty, so api, rag_api will lose their calls out \(OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENAI_BASE_URL\)/,
  );
});
