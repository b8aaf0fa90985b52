// One test per false positive, wrong position or missed finding found by reviewing scans of
// files the rules had never seen (src/scan/unseen/). Each names the file it came from.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scanComposeText, scanK8sText } from "./testing.ts";

type R = Awaited<ReturnType<typeof scanComposeText>>;
const of = (r: R, id: string) => r.findings.filter((f) => f.ruleId === id);
const lines = (r: R, id: string) => of(r, id).map((f) => f.pos.line);

test("dify: a Redis URL with an empty user still carries a password (CRL-S006)", async () => {
  const r = await scanComposeText(`services:
  api:
    image: x:1
    environment:
      CELERY_BROKER_URL: redis://:difyai123456@redis:6379/1
      CACHE_URL: redis://redis:6379/0
      WEB_URL: http://:8080/health
`);
  assert.deepEqual(lines(r, "CRL-S006"), [5]);
});

test("dify: an app secret shaped like sk-… is a high-entropy secret, not an OpenAI key", async () => {
  const r = await scanComposeText(`services:
  api:
    image: x:1
    environment:
      SECRET_KEY: sk-9f73s3ljTXVcMT3Blb3ljTqtsKiGHXVcMT3BlbkFJLK7U
      OPENAI_API_KEY: sk-proj-Xa81kQ2LmZp0Rt7Vb3Nc9Wd4Ye6Uf5Ig
      LEGACY_KEY: sk-Ab3De5Gh7Jk9Mn2Pq4St6Vw8Yz1Bc3Df5Gh7Jk9Mn2Pq4St6
      DEEPSEEK_API_KEY: sk-4f1a9c2e7b3d8f6a0c5e1b9d7a3f2c8e
`);
  assert.deepEqual(
    of(r, "CRL-S001").map((f) => f.message.split(" ")[0]),
    ["OPENAI_API_KEY", "LEGACY_KEY", "DEEPSEEK_API_KEY"],
  );
  assert.deepEqual(
    of(r, "CRL-S002").map((f) => f.message.split(" ")[0]),
    ["SECRET_KEY"],
  );
});

test("librechat: Meilisearch is a data store, not an agent with open egress", async () => {
  const r = await scanComposeText(`services:
  meilisearch:
    image: getmeili/meilisearch:v1.12.3
    ports:
      - 7700:7700
`);
  assert.deepEqual(lines(r, "CRL-A001"), []);
  assert.match(of(r, "CRL-N002")[0]?.message ?? "", /Meilisearch/);
});

test("librechat: 'mypassword' is a default password (CRL-S003, not S004)", async () => {
  const r = await scanComposeText(`services:
  vectordb:
    image: pgvector/pgvector:0.8.0-pg16
    environment:
      POSTGRES_PASSWORD: mypassword
`);
  assert.deepEqual(lines(r, "CRL-S003"), [5]);
  assert.deepEqual(lines(r, "CRL-S004"), []);
});

test("autogpt: RabbitMQ's management port is an admin UI (N005), not a second data-store publish", async () => {
  const r = await scanComposeText(`services:
  rabbitmq:
    image: rabbitmq:4.0-management
    ports:
      - "5672:5672"
      - "15672:15672"
`);
  assert.deepEqual(lines(r, "CRL-N002"), [5]);
  assert.deepEqual(lines(r, "CRL-N005"), [6]);
});

test("autogpt: Supabase's anon key and other public keys are not secrets", async () => {
  const r = await scanComposeText(`services:
  kong:
    image: kong:2.8.1
    environment:
      SUPABASE_ANON_KEY: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYW5vbiJ9.dc_X5iR_VP_qT0zsiyj_I_OZ2T9FtRU2BBNWN8Bu4GE
      STRIPE_PUBLISHABLE_KEY: pk_test_51HxQ2LmZp0Rt7Vb3Nc9Wd4Ye6Uf5Ig
      SERVICE_ROLE_KEY: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZSJ9.M2d2z4SFn5C7HlJlaSLfrzuYim9nbY_XI40uWFN3hEE
`);
  assert.deepEqual(
    r.findings.filter((f) => /^CRL-S00/.test(f.ruleId)).map((f) => f.message.split(" ")[0]),
    ["SERVICE_ROLE_KEY"],
  );
});

test("open-webui: container port 8080 is an app port; only an admin image makes it CRL-N005", async () => {
  const r = await scanComposeText(`services:
  open-webui:
    image: ghcr.io/open-webui/open-webui:v0.6.5
    ports: ["3000:8080"]
  traefik:
    image: traefik:v3.3
    ports: ["8080:8080"]
  adminer:
    image: adminer:4.8.1
    ports: ["8081:8080"]
`);
  assert.deepEqual(lines(r, "CRL-N005"), [7, 10]);
});

test("open-webui: branch tags such as :main are as mutable as :latest (CRL-I001)", async () => {
  const r = await scanComposeText(`services:
  a:
    image: ghcr.io/open-webui/open-webui:main
  b:
    image: ghcr.io/open-webui/pipelines:main@sha256:0000000000000000000000000000000000000000000000000000000000000000
  c:
    image: example/app:nightly
  d:
    image: example/app:2.1.0
`);
  assert.deepEqual(lines(r, "CRL-I001"), [3, 7]);
  assert.deepEqual(lines(r, "CRL-I003"), [9]);
  assert.match(of(r, "CRL-I001")[0]?.message ?? "", /mutable main tag/);
});

test("open-webui / helm: a token or key set to 123456 or changeme is trivial (CRL-S003)", async () => {
  const r = await scanComposeText(`services:
  a:
    image: x:1
    environment:
      CODE_EXECUTION_JUPYTER_AUTH_TOKEN: "123456"
      JUPYTER_TOKEN: changeme
      MAX_TOKENS: "4096"
`);
  assert.deepEqual(lines(r, "CRL-S003"), [5, 6]);
  assert.match(of(r, "CRL-S003")[0]?.message ?? "", /trivial value "123456"/);
});

test("openclaw: a long-syntax publish on host_ip 0.0.0.0 points at the host_ip line", async () => {
  const r = await scanComposeText(`services:
  gw:
    image: x:1
    ports:
      - target: 18791
        published: 18791
        host_ip: 0.0.0.0
      - target: 18792
        published: 18792
`);
  // explicit address: its line; no address given: the item, where the address is missing
  assert.deepEqual(lines(r, "CRL-N001"), [7, 8]);
});

test("open-webui-pipelines: a long-syntax socket bind points at its source line", async () => {
  const r = await scanComposeText(`services:
  watchtower:
    image: containrrr/watchtower:1.7.1
    volumes:
      - type: bind
        source: /var/run/docker.sock
        target: /var/run/docker.sock
      - type: bind
        source: /etc
        target: /host/etc
        read_only: true
`);
  assert.deepEqual(lines(r, "CRL-M001"), [6]);
  assert.deepEqual(lines(r, "CRL-M003"), [9]);
});

test("k8s: env secrets point at the value: line, hostPort at the hostPort: line", async () => {
  const r = await scanK8sText(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ci, namespace: tools }
spec:
  selector: { matchLabels: { app: ci } }
  template:
    metadata: { labels: { app: ci } }
    spec:
      containers:
        - name: interpreter
          image: ghcr.io/example/code-interpreter:1.0
          ports:
            - containerPort: 8888
              hostPort: 8888
          env:
            - name: JUPYTER_TOKEN
              value: "changeme"
            - name: DATABASE_URL
              value: postgresql://u:Zq8xT2pL@db:5432/m
`);
  assert.deepEqual(lines(r, "CRL-K007"), [14]);
  assert.deepEqual(lines(r, "CRL-S003"), [17]);
  assert.deepEqual(lines(r, "CRL-S006"), [19]);
});

test("dify: weaviate in profiles ['', weaviate] is scanned, and its ALLOWED_KEYS list is a secret", async () => {
  const r = await scanComposeText(`services:
  weaviate:
    image: semitechnologies/weaviate:1.19.0
    profiles: ['', weaviate]
    environment:
      AUTHENTICATION_APIKEY_ALLOWED_KEYS: \${WEAVIATE_API_KEY:-WVF5YThaHlkYwhGUSmCRgsX3tD5ngdN8pkih}
      MAX_TOKENS: "123456"
`);
  assert.ok(r.deployment.services.some((s) => s.name === "weaviate"));
  assert.deepEqual(lines(r, "CRL-S002"), [6]);
  assert.deepEqual(lines(r, "CRL-S003"), []);
});

test("autogpt: Supabase's 'your-super-secret-…' template values are placeholder defaults (S003), not high-entropy secrets", async () => {
  const r = await scanComposeText(`services:
  db:
    image: supabase/postgres:15.8.1.049
    environment:
      POSTGRES_PASSWORD: your-super-secret-and-long-postgres-password
      JWT_SECRET: your-super-secret-jwt-token-with-at-least-32-characters-long
      DASHBOARD_PASSWORD: this_password_is_insecure_and_should_be_updated
`);
  assert.deepEqual(lines(r, "CRL-S003"), [5, 6]);
  assert.match(of(r, "CRL-S003")[1]?.message ?? "", /placeholder default/);
  assert.deepEqual(lines(r, "CRL-S002"), []);
  assert.deepEqual(lines(r, "CRL-S004"), [7]);
});

test("langgraph: a PEM key in a block scalar is one CRL-S005 finding, not also a high-entropy secret", async () => {
  const r = await scanComposeText(`services:
  api:
    image: x:1
    environment:
      JWT_PRIVATE_KEY: |
        -----BEGIN PRIVATE KEY-----
        MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAq7BFUpkGp3+LQmlQ
        -----END PRIVATE KEY-----
`);
  assert.deepEqual(
    r.findings.filter((f) => /^CRL-S00/.test(f.ruleId)).map((f) => [f.ruleId, f.pos.line]),
    [["CRL-S005", 5]],
  );
});
