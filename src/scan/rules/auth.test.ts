// The authentication rules (CRL-U001..U003) and command-line secrets (CRL-S007) through the real
// readers: inline compose and Kubernetes text for each engine and switch, then the real
// deployment files in ../shared/fixtures, read in place.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readDeployment } from "../../model/load.ts";
import { computeReachability } from "../../model/reachability.ts";
import { fixture, sharedSkip } from "../../testing/shared.ts";
import { scan } from "../scan.ts";
import { sourcesFrom } from "../sources.ts";
import { scanComposeText, scanK8sText } from "../testing.ts";
import type { Finding } from "../types.ts";

/** A fixture read in place, as `corral scan` reads it without a .env. */
function scanFixture(file: string) {
  const deployment = readDeployment([file], { env: {} });
  const texts: Record<string, string> = {};
  for (const f of new Set([...deployment.files, ...deployment.services.map((s) => s.pos.file)]))
    texts[f] = readFileSync(f, "utf8");
  return scan({ deployment, reach: computeReachability(deployment), sources: sourcesFrom(texts) });
}

type Result = Awaited<ReturnType<typeof scanComposeText>>;
const of = (r: Result, id: string): Finding[] => r.findings.filter((f) => f.ruleId === id);
const brief = (r: Result, id: string) => of(r, id).map((f) => [f.service, f.severity, f.pos.line]);

const compose = (services: string) => scanComposeText(`services:\n${services}`);

test("U001 mongo: --noauth, and the official image without a root user; silent with one", async () => {
  const r = await compose(`  m1:
    image: mongo:7
    command: mongod --noauth
  m2:
    image: mongo:7
  m3:
    image: mongo:7
    environment:
      MONGO_INITDB_ROOT_USERNAME: root
      MONGO_INITDB_ROOT_PASSWORD: \${MONGO_PASSWORD}
  m4:
    image: bitnami/mongodb:7.0
    environment: [ALLOW_EMPTY_PASSWORD=yes]
  m5:
    image: mongo:7
    command: [mongod, --auth]
`);
  assert.deepEqual(
    of(r, "CRL-U001").map((f) => [f.service, f.pos.line]),
    [
      ["m1", 4],
      ["m2", 6],
      ["m4", 14],
    ],
  );
  assert.match(of(r, "CRL-U001")[0]?.message ?? "", /--noauth/);
});

test("U001 redis/valkey: no requirepass; an interpolated one counts, an empty literal does not", async () => {
  const r = await compose(`  r1:
    image: redis:7
  r2:
    image: valkey/valkey:8
    command: ["valkey-server", "--requirepass", "\${REDIS_PASSWORD}"]
  r3:
    image: redis:7
    command: redis-server --requirepass ""
  r4:
    image: redis:7
    command: redis-server /usr/local/etc/redis/redis.conf
  r5:
    image: redis/redis-stack-server:7.4.0-v1
    environment: ["REDIS_ARGS=--requirepass \${P}"]
  r6:
    image: bitnami/redis:7.2
    environment: ["REDIS_PASSWORD=\${P}"]
  r7:
    image: example/cache:1
    command: [sh, -c, "redis-server --appendonly yes"]
`);
  assert.deepEqual(
    of(r, "CRL-U001").map((f) => [f.service, f.pos.line]),
    [
      ["r1", 3],
      ["r3", 9],
      ["r7", 21],
    ],
  );
  assert.match(of(r, "CRL-U001")[1]?.message ?? "", /empty password/);
});

test("U001 elasticsearch/opensearch: security switched off, or ES 7 by default", async () => {
  const r = await compose(`  es8off:
    image: docker.elastic.co/elasticsearch/elasticsearch:8.15.0
    environment:
      - discovery.type=single-node
      - xpack.security.enabled=false
  es8:
    image: elasticsearch:8.15.0
  es7:
    image: elasticsearch:7.17.22
  es7on:
    image: elasticsearch:7.17.22
    environment: [xpack.security.enabled=true]
  os1:
    image: opensearchproject/opensearch:2.19.1
    environment: [DISABLE_SECURITY_PLUGIN=true]
  os2:
    image: opensearchproject/opensearch:2.19.1
    environment: [plugins.security.disabled=true]
  os3:
    image: opensearchproject/opensearch:2.19.1
    environment: [plugins.security.disabled=false]
`);
  assert.deepEqual(
    of(r, "CRL-U001").map((f) => [f.service, f.pos.line]),
    [
      ["es8off", 6],
      ["es7", 10],
      ["os1", 16],
      ["os2", 19],
    ],
  );
});

test("U002 vector stores: Qdrant without a key, Weaviate anonymous, Chroma without a provider", async () => {
  const r = await compose(`  q1:
    image: qdrant/qdrant:v1.12.4
  q2:
    image: qdrant/qdrant:v1.12.4
    environment: ["QDRANT__SERVICE__API_KEY=\${QDRANT_API_KEY}"]
  w1:
    image: semitechnologies/weaviate:1.25.0
    environment:
      AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: 'true'
  w2:
    image: cr.weaviate.io/semitechnologies/weaviate:1.25.0
  w3:
    image: semitechnologies/weaviate:1.25.0
    environment:
      AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: 'false'
      AUTHENTICATION_APIKEY_ENABLED: 'true'
  c1:
    image: chromadb/chroma:0.5.20
  c2:
    image: chromadb/chroma:0.5.20
    environment: [CHROMA_SERVER_AUTHN_PROVIDER=chromadb.auth.token_authn.TokenAuthenticationServerProvider]
  c3:
    image: chromadb/chroma:0.5.20
    env_file: [chroma.env]
`);
  assert.deepEqual(
    of(r, "CRL-U002").map((f) => [f.service, f.pos.line]),
    [
      ["q1", 3],
      ["w1", 10],
      ["w2", 12],
      ["c1", 19],
    ],
  );
});

test("U001-U003: severity follows reachability — published critical, another tier high, own zone medium", async () => {
  const r = await compose(`  api:
    image: acme/api:1.0
    networks: [back]
  cache:
    image: redis:7
    networks: [back]
  lonely:
    image: redis:7
    networks: [alone]
  public:
    image: redis:7
    ports: ["6379:6379"]
    networks: [alone2]
  local:
    image: redis:7
    ports: ["127.0.0.1:6380:6379"]
    networks: [alone3]
networks: { back: {}, alone: {}, alone2: {}, alone3: {} }
`);
  assert.deepEqual(brief(r, "CRL-U001"), [
    ["cache", "high", 6],
    ["lonely", "medium", 9],
    ["public", "critical", 12],
    ["local", "medium", 16],
  ]);
  const pub = of(r, "CRL-U001").find((f) => f.service === "public");
  assert.match(pub?.message ?? "", /published on port 6379 on all interfaces/);
  // the publish is the other half of the fix: a related location
  assert.deepEqual(
    pub?.related?.map((x) => x.pos.line),
    [13],
  );
  assert.match(
    of(r, "CRL-U001").find((f) => f.service === "cache")?.message ?? "",
    /reachable from agents tier \(api\)/,
  );
});

test("U003 UIs: WEBUI_AUTH=False, AUTH_DISABLED, LANGFLOW_AUTO_LOGIN, --anonymous-mode, code-server, Jupyter", async () => {
  const r = await compose(`  webui:
    image: ghcr.io/open-webui/open-webui:v0.5.20
    environment: [WEBUI_AUTH=False]
  webui-on:
    image: ghcr.io/open-webui/open-webui:v0.5.20
    environment: [WEBUI_AUTH=True]
  mem:
    image: mem0/mem0-api-server:1.0
    environment: ["AUTH_DISABLED=\${AUTH_DISABLED:-false}"]
  mem-off:
    image: mem0/mem0-api-server:1.0
    environment: ["AUTH_DISABLED=\${AUTH_DISABLED:-true}"]
  langflow:
    image: langflowai/langflow:1.1.1
    environment: [LANGFLOW_AUTO_LOGIN=true]
  anon:
    image: acme/ui:1.0
    command: [serve, --anonymous-mode]
  code:
    image: codercom/code-server:4.96.2
    command: [--bind-addr, 0.0.0.0:8080, --auth, none]
  jupyter:
    image: quay.io/jupyter/base-notebook:2024-12-02
    command: start-notebook.py --ServerApp.token=''
  jupyter-token:
    image: quay.io/jupyter/base-notebook:2024-12-02
    command: start-notebook.py --ServerApp.token=\${JUPYTER_TOKEN}
`);
  assert.deepEqual(
    of(r, "CRL-U003").map((f) => [f.service, f.pos.line]),
    [
      ["webui", 4],
      ["mem-off", 13],
      ["langflow", 16],
      ["anon", 19],
      ["code", 22],
      ["jupyter", 25],
    ],
  );
});

test("S007: literal high, default-in-file medium, reference low (not a literal secret); non-secret flags silent", async () => {
  const r = await compose(`  a:
    image: redis:7
    command: redis-server --requirepass s3cr3t-Value
  b:
    image: redis:7
    command: redis-server --requirepass \${REDIS_PASSWORD:-hunter2hunter2}
  c:
    image: redis:7
    command: ["redis-server", "--requirepass", "\${REDIS_PASSWORD}"]
  d:
    image: acme/tool:1.0
    command:
      - tool
      - --api-key=sk-live-abcdef123456
      - --password-file=/run/secrets/p
      - --token-ttl
      - "3600"
  e:
    image: mysql:8.0.40
    command: [--default-authentication-plugin=mysql_native_password, --max-connections=1000]
`);
  assert.deepEqual(brief(r, "CRL-S007"), [
    ["a", "high", 4],
    ["b", "medium", 7],
    ["c", "low", 10],
    ["d", "high", 15],
  ]);
  const [lit, dflt, ref] = of(r, "CRL-S007");
  assert.doesNotMatch(lit?.message ?? "", /s3cr3t/, "a literal secret is not repeated in the report");
  assert.doesNotMatch(dflt?.message ?? "", /hunter2/);
  assert.match(ref?.message ?? "", /not a literal secret/);
});

test("S007: an interpolated value set in the shell is still reported as a reference, not a literal", async () => {
  const { composeFromText } = await import("../../model/compose/index.ts");
  const { computeReachability } = await import("../../model/reachability.ts");
  const { scan } = await import("../scan.ts");
  const { sourcesFrom } = await import("../sources.ts");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
  const text = "services:\n  r:\n    image: redis:7\n    command: redis-server --requirepass ${REDIS_PASSWORD}\n";
  const deployment = composeFromText(text, { file: "/p/compose.yaml", env: { REDIS_PASSWORD: "Zq8xT2pLw9" } });
  const r = scan({
    deployment,
    reach: computeReachability(deployment),
    sources: sourcesFrom({ "/p/compose.yaml": text }),
  });
  assert.deepEqual(brief(r, "CRL-S007"), [["r", "low", 4]]);
  assert.doesNotMatch(of(r, "CRL-S007")[0]?.message ?? "", /Zq8x/);
  assert.deepEqual(of(r, "CRL-U001"), []);
});

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata: { name: cache, namespace: data }
spec:
  template:
    metadata: { labels: { app: cache } }
    spec:
      containers:
        - name: redis
          image: redis:7.2
          args: ["--requirepass", "Zq8xT2pLw9"]
        - name: mongo
          image: mongo:7
          args: ["--noauth"]
        - name: ui
          image: ghcr.io/open-webui/open-webui:v0.5.20
          env:
            - name: WEBUI_AUTH
              value: "False"
        - name: qdrant
          image: qdrant/qdrant:v1.12.4
          env:
            - name: QDRANT__SERVICE__API_KEY
              valueFrom: { secretKeyRef: { name: qdrant, key: api-key } }
        - name: jupyter
          image: quay.io/jupyter/base-notebook:2024-12-02
          command: [start-notebook.py]
          args: ["--ServerApp.token=$(JUPYTER_TOKEN)"]
---
apiVersion: v1
kind: Service
metadata: { name: cache, namespace: data }
spec:
  type: NodePort
  selector: { app: cache }
  ports: [{ port: 6379 }]
`;

test("kubernetes: the same settings in container args and env; NodePort makes them critical", async () => {
  const r = await scanK8sText(MANIFEST);
  assert.deepEqual(brief(r, "CRL-S007"), [
    ["data/cache", "high", 11],
    ["data/cache", "low", 28],
  ]);
  assert.match(of(r, "CRL-S007")[1]?.message ?? "", /\$\(JUPYTER_TOKEN\).*not a literal/);
  assert.deepEqual(brief(r, "CRL-U001"), [["data/cache", "critical", 14]]);
  assert.match(of(r, "CRL-U001")[0]?.message ?? "", /container "mongo".*NodePort/);
  assert.deepEqual(brief(r, "CRL-U003"), [["data/cache", "critical", 19]]);
  assert.deepEqual(of(r, "CRL-U002"), [], "the Qdrant key comes from a Secret");
});

const skip = sharedSkip();

test("fixtures: unauthenticated Redis in superagi and flowise, open Qdrant in n8n (published: critical)", {
  skip,
}, () => {
  const at = (file: string[], id: string) => scanFixture(fixture(...file)).findings.filter((f) => f.ruleId === id);
  assert.deepEqual(
    at(["compose", "superagi", "docker-compose.yaml"], "CRL-U001").map((f) => [f.service, f.severity, f.pos.line]),
    [["super__redis", "high", 36]],
  );
  assert.deepEqual(
    at(["compose", "flowise", "docker-compose-queue-prebuilt.yml"], "CRL-U001").map((f) => [f.service, f.severity]),
    [["redis", "critical"]],
  );
  assert.deepEqual(
    at(["compose", "n8n-starter", "docker-compose.yml"], "CRL-U002").map((f) => [f.service, f.severity, f.pos.line]),
    [["qdrant", "critical", 100]],
  );
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
test("fixtures: ragflow's stores keep their authentication; its ${REDIS_PASSWORD} argument is a low, not a literal", {
  skip,
}, () => {
  const r = scanFixture(fixture("compose", "ragflow", "docker-compose-base.yml"));
  assert.deepEqual(
    r.findings.filter((f) => /^CRL-U/.test(f.ruleId)).map((f) => [f.ruleId, f.service]),
    [],
    "valkey --requirepass, elasticsearch xpack.security.enabled=true, opensearch plugins.security.disabled=false",
  );
  assert.deepEqual(
    r.findings.filter((f) => f.ruleId === "CRL-S007").map((f) => [f.service, f.severity, f.pos.line, f.pos.col]),
    [["redis", "low", 264, 48]],
  );
  // --default-authentication-plugin=mysql_native_password names a plugin, not a password
  assert.ok(!r.findings.some((f) => f.ruleId === "CRL-S007" && f.service === "mysql"));
});
