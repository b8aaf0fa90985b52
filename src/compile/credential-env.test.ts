import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { readDeployment } from "../model/load.ts";
import { parsePolicy } from "../policy/index.ts";
import { placeholderFor } from "../policy/placeholder.ts";
import { schemaPath, sharedSkip } from "../testing/shared.ts";
import { compileComposeOverlay } from "./compose-overlay.ts";
import { mergeCompose, validator } from "./testkit.ts";

const REAL = "sk-proj-REALVALUEthatmustneverappearintheoverlay0123456789";
const COMPOSE = `services:
  agent:
    image: agent:1
    environment:
      OPENAI_API_KEY: \${OPENAI_API_KEY}
      LLM_KEY: \${OPENAI_API_KEY}
      OTHER: kept
  worker:
    image: agent:1
    environment:
      LLM_KEY: \${OPENAI_API_KEY}
      AUTH_HEADER: Bearer \${OPENAI_API_KEY}
      LLM_URL: https://x.example/v1?key=\${OPENAI_API_KEY}
  db:
    image: postgres:16
    environment:
      OPENAI_API_KEY: \${OPENAI_API_KEY}
`;
const POLICY = (extra = "") => `version: 1
project: demo
zones:
  agents: { services: [agent, worker] }
  data: { services: [db] }
egress:
  - from: agents
    allow: [api.openai.com:443]
${extra}`;
const CREDENTIALS = `credentials:
  openai:
    value: { env: OPENAI_API_KEY }
    for: agents
    to: { host: api.openai.com }
`;

type Svc = { environment?: Record<string, string>; volumes?: string[]; command?: string[] };
const tags = [
  { tag: "!override", resolve: (v: unknown) => v },
  { tag: "!reset", resolve: (v: unknown) => v },
];

function overlayFor(policyText: string, compose = COMPOSE) {
  const dir = mkdtempSync(join(tmpdir(), "corral-cred-env-"));
  try {
    const file = join(dir, "docker-compose.yml");
    writeFileSync(file, compose);
    const d = readDeployment([file], { env: { OPENAI_API_KEY: REAL } });
    const { policy } = parsePolicy(policyText, join(dir, "corral.yaml"));
    const text = compileComposeOverlay(policy, d)["compose.corral.yml"] ?? "";
    const services = (parse(text, { customTags: tags }) as { services: Record<string, Svc> }).services;
    return { text, services, shipped: readFileSync(file, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("each holder of a brokered key gets its own placeholder; the real value goes to the gate only", () => {
  const { text, services } = overlayFor(POLICY(CREDENTIALS));
  const mine = placeholderFor("demo", "openai", "agent", "openai");
  assert.match(mine, /^sk-proj-/, "shaped like the provider's keys");
  assert.equal(services.agent?.environment?.OPENAI_API_KEY, mine);
  assert.equal(services.agent?.environment?.LLM_KEY, mine, "the same key under another name is replaced too");
  assert.equal(services.agent?.environment?.OTHER, undefined, "other variables stay as shipped");
  // The worker only passes the key on under other names (compose substitutes it from the
  // environment): each of them, whole or inside a longer value, gets the placeholder.
  const w = placeholderFor("demo", "openai", "worker", "openai");
  assert.equal(services.worker?.environment?.LLM_KEY, w);
  assert.equal(services.worker?.environment?.AUTH_HEADER, `Bearer ${w}`);
  assert.equal(services.worker?.environment?.LLM_URL, `https://x.example/v1?key=${w}`);
  assert.equal(services.worker?.environment?.OPENAI_API_KEY, placeholderFor("demo", "openai", "worker", "openai"));
  // A service outside `for` that holds the variable loses the key too (its placeholder is refused).
  assert.equal(services.db?.environment?.OPENAI_API_KEY, placeholderFor("demo", "openai", "db", "openai"));
  assert.notEqual(services.agent?.environment?.OPENAI_API_KEY, services.worker?.environment?.OPENAI_API_KEY);
  assert.ok(!text.includes(REAL), "the real value is not in the overlay");
  const gate = services["corral-gate"]!;
  assert.match(
    gate.environment?.OPENAI_API_KEY ?? "",
    /^\$\{OPENAI_API_KEY:\?/,
    "the gate reads it from the project's environment",
  );
  assert.ok(gate.command?.includes("--ca-out"));
  assert.ok(gate.volumes?.includes("corral-gate-ca:/var/lib/corral/ca-public"));
  for (const name of ["agent", "worker"]) {
    const env = services[name]?.environment ?? {};
    assert.equal(env.NODE_EXTRA_CA_CERTS, "/etc/corral/ca/ca.crt", name);
    for (const v of ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
      assert.equal(env[v], "/etc/corral/ca/bundle.pem", `${name} ${v}`);
    assert.ok(services[name]?.volumes?.includes("corral-gate-ca:/etc/corral/ca:ro"), name);
  }
  assert.equal(services.db?.volumes, undefined, "the CA goes to the gate's clients only");
  assert.match(text, /corral-gate-ca: \{\}/);
});

test("the merged file is valid compose", { skip: sharedSkip() }, () => {
  const { text, shipped } = overlayFor(POLICY(CREDENTIALS));
  assert.deepEqual(validator(schemaPath("compose-spec.json"))(mergeCompose(shipped, text)), []);
});

test("a file value is mounted read-only into the gate at its path; a relative one is refused", () => {
  const file = CREDENTIALS.replace("{ env: OPENAI_API_KEY }", "{ file: /run/secrets/openai }");
  const { services } = overlayFor(POLICY(file));
  assert.ok(services["corral-gate"]?.volumes?.includes("/run/secrets/openai:/run/secrets/openai:ro"));
  assert.equal(services["corral-gate"]?.environment?.OPENAI_API_KEY, undefined);
  assert.throws(
    () => overlayFor(POLICY(CREDENTIALS.replace("{ env: OPENAI_API_KEY }", "{ file: secrets/openai }"))),
    /relative path/,
  );
});

test("without credentials or request rules nothing changes", () => {
  const { text, services } = overlayFor(POLICY());
  assert.doesNotMatch(text, /corral-gate-ca|NODE_EXTRA_CA_CERTS|--ca-out/);
  assert.equal(services.agent?.environment?.OPENAI_API_KEY, undefined, "the shipped variable stays as shipped");
});

test("a key in a service's command is refused: the overlay cannot replace it there", () => {
  const withCommand = COMPOSE.replace(
    "    image: postgres:16\n",
    `    image: postgres:16\n    command: ["serve", "--key", "\${OPENAI_API_KEY}"]\n`,
  );
  assert.throws(
    () => overlayFor(POLICY(CREDENTIALS), withCommand),
    (err: { message: string; pos?: { file: string; line: number } }) =>
      /service db: its command holds the real value/.test(err.message) &&
      err.pos?.file.endsWith("docker-compose.yml") === true &&
      err.pos.line === withCommand.split("\n").findIndex((l) => l.includes("command:")) + 1,
  );
});
