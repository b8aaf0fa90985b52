// Syntax variants through the real compose / Kubernetes readers: the rules must see the same
// thing however it is spelled, and point at the right line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scanComposeText, scanK8sText } from "./testing.ts";

const lines = (r: { findings: Array<{ ruleId: string; pos: { line: number }; suppressed?: unknown }> }, id: string) =>
  r.findings.filter((f) => f.ruleId === id && !f.suppressed).map((f) => f.pos.line);

test("OpenClaw-style compose with ports bound to 127.0.0.1 has no exposure finding", async () => {
  const r = await scanComposeText(`services:
  openclaw-gateway:
    image: ghcr.io/openclaw/openclaw:2026.1.0
    ports:
      - "127.0.0.1:18789:18789"
      - "127.0.0.1:18790:18790"
    volumes:
      - ./config:/home/node/.openclaw
  ollama:
    image: ollama/ollama:0.5.7
    ports:
      - target: 11434
        published: 11434
        host_ip: 127.0.0.1
`);
  const exposure = r.findings.filter((f) => /^CRL-N00[1-5]$/.test(f.ruleId));
  assert.deepEqual(exposure, []);
});

test("ports: short default, explicit 0.0.0.0, IPv6 ::, long syntax without host_ip all count as all interfaces", async () => {
  const r = await scanComposeText(`services:
  web:
    image: nginx:1.27
    ports:
      - "8000:80"
      - "0.0.0.0:8001:80"
      - "[::]:8002:80"
      - target: 80
        published: 8003
      - "127.0.0.1:8004:80"
      - "[::1]:8005:80"
`);
  assert.deepEqual(lines(r, "CRL-N001"), [5, 6, 7, 8]);
});

test("data-store port published: short and long syntax, loopback exempt", async () => {
  const r = await scanComposeText(`services:
  db:
    image: postgres:16
    ports:
      - 5432:5432
      - target: 6379
        published: "6379"
        host_ip: 0.0.0.0
      - 127.0.0.1:27017:27017
`);
  // the long-syntax entry is reported on its `host_ip: 0.0.0.0` line, the value at fault
  assert.deepEqual(lines(r, "CRL-N002"), [5, 8]);
});

test("no-new-privileges: colon and equals forms both satisfy CRL-R009; false does not", async () => {
  for (const opt of ["no-new-privileges:true", "no-new-privileges=true", "no-new-privileges"]) {
    const r = await scanComposeText(`services:\n  a:\n    image: x:1\n    security_opt:\n      - ${opt}\n`);
    assert.deepEqual(lines(r, "CRL-R009"), [], opt);
  }
  const r = await scanComposeText(
    `services:\n  a:\n    image: x:1\n    security_opt:\n      - no-new-privileges:false\n`,
  );
  assert.deepEqual(lines(r, "CRL-R009").length, 1);
});

test("seccomp unconfined in both spellings points at the security_opt item", async () => {
  const r = await scanComposeText(`services:
  a:
    image: x:1
    security_opt:
      - no-new-privileges:true
      - seccomp=unconfined
  b:
    image: x:1
    security_opt:
      - seccomp:unconfined
`);
  assert.deepEqual(lines(r, "CRL-R007"), [6, 10]);
});

test("docker socket: short, long and read-only forms, and the /run path", async () => {
  const r = await scanComposeText(`services:
  a:
    image: x:1
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
      - type: bind
        source: /run/containerd/containerd.sock
        target: /run/containerd/containerd.sock
      - ./data:/data
`);
  // the long-syntax entry is reported on its `source:` line, where the socket is named
  assert.deepEqual(lines(r, "CRL-M001"), [5, 7]);
});

test("capabilities: list and CAP_ prefix, item lines", async () => {
  const r = await scanComposeText(`services:
  a:
    image: x:1
    cap_add:
      - NET_ADMIN
      - CAP_SYS_ADMIN
    cap_drop: [ALL]
`);
  assert.deepEqual(lines(r, "CRL-C002"), [5]);
  assert.deepEqual(lines(r, "CRL-C001"), [6]);
  assert.deepEqual(lines(r, "CRL-C009"), []);
});

test("environment: list and map forms; references and empty values are not secrets", async () => {
  const r = await scanComposeText(`services:
  a:
    image: x:1
    environment:
      OPENAI_API_KEY: sk-proj-Xa81kQ2LmZp0Rt7Vb3Nc9Wd4Ye6Uf5Ig
      ANTHROPIC_API_KEY: \${ANTHROPIC_API_KEY}
      GITHUB_TOKEN: ""
      POSTGRES_PASSWORD: changeme
  b:
    image: x:1
    environment:
      - AWS_ACCESS_KEY_ID=AKIAZ7QX4MBN2HR5TY3W
      - SLACK_BOT_TOKEN=xoxb-2048-7731-Qz8pLr0aVb
      - GOOGLE_API_KEY=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY
      - GH=ghp_0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R
      - ANTHROPIC=sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe
      - REDIS_PASSWORD=
`);
  assert.deepEqual(lines(r, "CRL-S001"), [5, 12, 13, 14, 15, 16]);
  assert.deepEqual(lines(r, "CRL-S003"), [8]);
});

test("restart variants: always / unless-stopped / on-failure flagged, on-failure:5 and no are not", async () => {
  const r = await scanComposeText(`services:
  a: { image: x:1, restart: always }
  b: { image: x:1, restart: unless-stopped }
  c: { image: x:1, restart: "on-failure:5" }
  d: { image: x:1, restart: "no" }
`);
  assert.deepEqual(lines(r, "CRL-L004"), [2, 3]);
});

test("limits: deploy.resources and the legacy mem_limit / cpus / pids_limit keys both count", async () => {
  const r = await scanComposeText(`services:
  a:
    image: x:1
    deploy:
      resources:
        limits: { memory: 512m, cpus: "0.5", pids: 100 }
  b:
    image: x:1
    mem_limit: 512m
    cpus: 0.5
    pids_limit: 100
`);
  assert.deepEqual([...lines(r, "CRL-L001"), ...lines(r, "CRL-L002"), ...lines(r, "CRL-L003")], []);
});

test("kubernetes: privileged, hostNetwork, hostPath, SA token lines", async () => {
  const r = await scanK8sText(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: agent
  namespace: agents
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata:
      labels: { app: agent }
    spec:
      hostNetwork: true
      automountServiceAccountToken: true
      containers:
        - name: agent
          image: acme/agent:1.0
          securityContext:
            privileged: true
          volumeMounts:
            - { name: sock, mountPath: /var/run/docker.sock }
      volumes:
        - name: sock
          hostPath: { path: /var/run/docker.sock }
`);
  assert.deepEqual(lines(r, "CRL-R001"), [18]);
  assert.deepEqual(lines(r, "CRL-R002"), [12]);
  assert.deepEqual(lines(r, "CRL-K003"), [13]);
  assert.equal(lines(r, "CRL-M001").length, 1);
  assert.equal(lines(r, "CRL-K006").length, 1);
  assert.deepEqual(lines(r, "CRL-K001"), [2]);
});

test("secrets: a value interpolated from the environment is not a secret in the file; a default written in it is", async () => {
  const { composeFromText } = await import("../model/compose/index.ts");
  const { computeReachability } = await import("../model/reachability.ts");
  const { scan } = await import("./scan.ts");
  const { sourcesFrom } = await import("./sources.ts");
  const text = `services:
  db:
    image: postgres:16
    environment:
      - POSTGRES_PASSWORD=\${PG_PASSWORD}
      - ADMIN_PASSWORD=\${ADMIN_PASSWORD:-admin}
      - OPENAI_API_KEY=\${OPENAI_API_KEY}
`;
  const deployment = composeFromText(text, {
    file: "/p/compose.yaml",
    env: { PG_PASSWORD: "password", OPENAI_API_KEY: "sk-proj-Xa81kQ2LmZp0Rt7Vb3Nc9Wd4Ye6Uf5Ig" },
  });
  const r = scan({
    deployment,
    reach: computeReachability(deployment),
    sources: sourcesFrom({ "/p/compose.yaml": text }),
  });
  const secrets = r.findings.filter((f) => f.ruleId.startsWith("CRL-S")).map((f) => [f.ruleId, f.pos.line]);
  assert.deepEqual(secrets, [["CRL-S003", 6]]);
});

test("secrets: values from an env_file are not reported", async () => {
  const { composeFromText } = await import("../model/compose/index.ts");
  const { computeReachability } = await import("../model/reachability.ts");
  const { scan } = await import("./scan.ts");
  const { sourcesFrom } = await import("./sources.ts");
  const text = "services:\n  a:\n    image: x:1\n    env_file: [app.env]\n";
  const env = "OPENAI_API_KEY=sk-proj-Xa81kQ2LmZp0Rt7Vb3Nc9Wd4Ye6Uf5Ig\nDB_PASSWORD=password\n";
  const deployment = composeFromText(text, { file: "/p/compose.yaml", files: { "app.env": env }, env: {} });
  const r = scan({
    deployment,
    reach: computeReachability(deployment),
    sources: sourcesFrom({ "/p/compose.yaml": text, "/p/app.env": env }),
  });
  assert.deepEqual(
    r.findings.filter((f) => f.ruleId.startsWith("CRL-S")),
    [],
  );
});
