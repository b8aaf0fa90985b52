import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["ip", "nft"] }) || sharedSkip();

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { main } from "../cli/main.ts";
import { readDeployment } from "../model/load.ts";
import type { Deployment } from "../model/types.ts";
import { loadPolicy, type Policy, parsePolicy } from "../policy/index.ts";
import { fixture, PROJECT_ROOT, sharedSkip } from "../testing/shared.ts";
import { LabError } from "./exec.ts";
import { Lab, leftovers, newPrefix } from "./lab.ts";
import type { Cell } from "./matrix.ts";
import { verifyLab } from "./verify.ts";

const env = {};
const cell = (cells: Cell[], from: string, to: string, port: number, protocol = "tcp") =>
  cells.find((c) => c.from === from && c.to === to && c.port === port && c.protocol === protocol);

function mismatches(cells: Cell[]): string[] {
  return cells
    .filter((c) => c.observed !== c.expected)
    .map((c) => `${c.from}→${c.to} ${c.port}/${c.protocol} expected ${c.expected} observed ${c.observed}`);
}

async function run(policy: Policy, d: Deployment, before = false) {
  const prefix = newPrefix();
  try {
    return await verifyLab(policy, d, { before, prefix });
  } finally {
    assert.deepEqual(leftovers(prefix), [], "every namespace of the run is gone");
  }
}

test("SuperAGI: before Corral the flat network lets celery reach postgres and much more", { skip }, async () => {
  const { policy } = await loadPolicy(join(PROJECT_ROOT, "examples/superagi/corral.yaml"));
  const d = readDeployment([join(PROJECT_ROOT, "examples/superagi/docker-compose.yml")], { env });
  const r = await run(policy, d, true);
  assert.equal(cell(r.cells, "celery", "super__postgres", 5432)?.observed, true);
  assert.equal(cell(r.cells, "celery", "backend", 8001)?.observed, true, "an agent reaches the API directly");
  assert.equal(cell(r.cells, "celery", "(outside)", 443)?.observed, true, "an agent reaches the internet directly");
  assert.equal(cell(r.cells, "(outside)", "proxy", 80)?.observed, true, "3000:80 is published on every interface");
  assert.equal(cell(r.cells, "celery", "(host)", 8001)?.observed, true, "an agent reaches the Docker host's own ports");
  assert.ok(
    r.summary.observedOpen > r.summary.expectedOpen,
    `${r.summary.observedOpen} open edges > ${r.summary.expectedOpen} declared`,
  );
});

test("SuperAGI: after compile every declared flow passes and every other cell is blocked", { skip }, async () => {
  const { policy } = await loadPolicy(join(PROJECT_ROOT, "examples/superagi/corral.yaml"));
  const d = readDeployment([join(PROJECT_ROOT, "examples/superagi/docker-compose.yml")], { env });
  const r = await run(policy, d);
  assert.deepEqual(mismatches(r.cells), []);
  assert.equal(cell(r.cells, "celery", "super__postgres", 5432)?.observed, true);
  assert.equal(cell(r.cells, "celery", "backend", 8001)?.observed, false);
  assert.equal(cell(r.cells, "proxy", "super__postgres", 5432)?.observed, false);
  assert.equal(cell(r.cells, "celery", "(outside)", 443)?.observed, false, "agents leave only through the gate");
  assert.equal(cell(r.cells, "celery", "corral-gate", 3128)?.observed, true);
  assert.equal(cell(r.cells, "corral-gate", "(outside)", 443)?.observed, true);
  assert.equal(cell(r.cells, "(outside)", "proxy", 80)?.observed, false, "published on 127.0.0.1 only");
  assert.equal(cell(r.cells, "celery", "(host)", 8001)?.observed, false, "the Docker host is closed to containers");
  assert.ok(r.cells.length > 500);
});

test("n8n starter: compiled lab matches the policy cell for cell", { skip }, async () => {
  const { policy } = parsePolicy(
    `version: 1
zones:
  app: { services: [n8n, n8n-import] }
  data: { services: [postgres] }
  vector: { services: [qdrant] }
flows:
  - { from: app, to: data, ports: [5432/tcp] }
  - { from: n8n, to: vector, ports: [6333/tcp] }
publish:
  - { service: n8n, port: 5678/tcp }
egress:
  - { from: app, allow: [api.openai.com:443] }
`,
    "n8n.corral.yaml",
  );
  const d = readDeployment([fixture("compose", "n8n-starter", "docker-compose.yml")], { env });
  const r = await run(policy, d);
  assert.deepEqual(mismatches(r.cells), []);
  assert.equal(cell(r.cells, "n8n-import", "qdrant", 6333)?.observed, false);
  assert.equal(cell(r.cells, "n8n", "qdrant", 6333)?.observed, true);
});

test("Flowise (queue): compiled lab matches the policy cell for cell", { skip }, async () => {
  const { policy } = parsePolicy(
    `version: 1
zones:
  web: { services: [flowise] }
  workers: { services: [flowise-worker], isolate: per-service }
  data: { services: [redis] }
flows:
  - { from: [web, workers], to: data, ports: [6379/tcp] }
publish:
  - { service: flowise, port: 3000/tcp, host: "0.0.0.0:3000" }
egress:
  - { from: workers, allow: ["**.openai.com:443"] }
`,
    "flowise.corral.yaml",
  );
  const d = readDeployment([fixture("compose", "flowise", "docker-compose-queue-prebuilt.yml")], { env });
  const before = await run(policy, d, true);
  assert.ok(mismatches(before.cells).length > 0, "the shipped stack is flat");
  const r = await run(policy, d);
  assert.deepEqual(mismatches(r.cells), []);
  assert.equal(cell(r.cells, "flowise-worker", "flowise", 3000)?.observed, false);
  assert.equal(
    cell(r.cells, "(outside)", "flowise", 3000)?.observed,
    true,
    "published on every interface by the policy",
  );
  assert.equal(cell(r.cells, "(outside)", "redis", 6379)?.observed, false, "the shipped 6379 publish is gone");
  assert.equal(cell(before.cells, "(outside)", "redis", 6379)?.observed, true);
});

test("per-service isolation: two agents in one zone cannot reach each other, shared they can", { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-iso-"));
  try {
    const file = join(dir, "docker-compose.yml");
    await writeFile(
      file,
      `services:
  agent-a: { image: busybox, expose: ["8080"] }
  agent-b: { image: busybox, expose: ["8080"] }
  db: { image: postgres:16, expose: ["5432"] }
`,
    );
    const d = readDeployment([file], { env });
    const policyFor = (isolate: string) =>
      parsePolicy(
        `version: 1
zones:
  agents: { services: [agent-a, agent-b], isolate: ${isolate} }
  data: { services: [db] }
flows:
  - { from: agents, to: data, ports: [5432/tcp] }
`,
        "iso.corral.yaml",
      ).policy;
    const isolated = await run(policyFor("per-service"), d);
    assert.deepEqual(mismatches(isolated.cells), []);
    assert.equal(cell(isolated.cells, "agent-a", "agent-b", 8080)?.observed, false);
    assert.equal(cell(isolated.cells, "agent-b", "agent-a", 8080)?.observed, false);
    assert.equal(cell(isolated.cells, "agent-a", "db", 5432)?.observed, true);
    const shared = await run(policyFor("shared"), d);
    assert.deepEqual(mismatches(shared.cells), []);
    assert.equal(cell(shared.cells, "agent-a", "agent-b", 8080)?.observed, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("flows to the host: open for the declared source and port only", { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-host-"));
  try {
    const file = join(dir, "docker-compose.yml");
    await writeFile(
      file,
      `services:
  rag_api: { image: busybox, expose: ["8000"] }
  ui: { image: busybox, expose: ["3000"] }
`,
    );
    const d = readDeployment([file], { env });
    const { policy } = parsePolicy(
      `version: 1
zones:
  apps: { services: [rag_api, ui], isolate: per-service }
flows:
  - { from: ui, to: rag_api, ports: [8000/tcp] }
  - { from: rag_api, to: host, ports: [11434/tcp] }
`,
      "host.corral.yaml",
    );
    const r = await run(policy, d);
    assert.deepEqual(mismatches(r.cells), []);
    assert.equal(cell(r.cells, "rag_api", "(host)", 11434)?.observed, true, "the declared host flow");
    assert.equal(cell(r.cells, "rag_api", "(host)", 11434, "udp")?.observed, false, "its port, tcp only");
    assert.equal(cell(r.cells, "rag_api", "(host)", 8000)?.observed, false, "another host port");
    assert.equal(cell(r.cells, "ui", "(host)", 11434)?.observed, false, "another service");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("cleanup: a failed build and a Ctrl-C both leave no namespace behind", { skip }, async () => {
  const prefix = newPrefix();
  const broken = {
    bridges: [{ name: "crl-ok", subnet: "10.203.9.0/24", gateway: "10.203.9.1", internal: true }],
    nodes: [{ name: "x", interfaces: [{ bridge: "crl-missing", address: "10.203.9.3", prefix: 24 }] }],
    published: [],
  };
  await assert.rejects(Lab.create(broken, prefix), LabError);
  assert.deepEqual(leftovers(prefix), []);

  const dir = await mkdtemp(join(tmpdir(), "corral-sigint-"));
  const prefix2 = newPrefix();
  try {
    const script = join(dir, "hold.ts");
    const labUrl = new URL("./lab.ts", import.meta.url).href;
    await writeFile(
      script,
      `import { Lab } from ${JSON.stringify(labUrl)};
const t = { bridges: [{ name: "crl-z", subnet: "10.203.9.0/24", gateway: "10.203.9.1", internal: true }], nodes: [{ name: "a", interfaces: [{ bridge: "crl-z", address: "10.203.9.3", prefix: 24 }] }], published: [] };
const lab = await Lab.create(t, ${JSON.stringify(prefix2)});
await lab.listen([{ port: 7000, protocol: "tcp" }]);
process.stdout.write("up\\n");
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
    });
    assert.ok(leftovers(prefix2).length >= 3, "the lab is up");
    child.kill("SIGINT");
    await once(child, "exit");
    assert.deepEqual(leftovers(prefix2), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("corral verify: JSON matrix, exit 1 on mismatches (--before), exit 2 without root", { skip }, async () => {
  const args = [
    "verify",
    "--lab",
    "-p",
    join(PROJECT_ROOT, "examples/superagi/corral.yaml"),
    "-f",
    join(PROJECT_ROOT, "examples/superagi/docker-compose.yml"),
  ];
  let stdout = "";
  const out = new PassThrough();
  out.on("data", (d) => {
    stdout += d;
  });
  const code = await main([...args, "--before", "--format", "json"], {
    stdout: out,
    stderr: new PassThrough(),
    env: {},
    color: false,
  });
  assert.equal(code, 1);
  const result = JSON.parse(stdout) as { mode: string; summary: { mismatches: number }; cells: Cell[] };
  assert.equal(result.mode, "before");
  assert.ok(result.summary.mismatches > 0);

  const asNobody = spawnSync(
    "runuser",
    ["-u", "nobody", "--", process.execPath, join(PROJECT_ROOT, "src/cli/main.ts"), ...args],
    { encoding: "utf8" },
  );
  if (asNobody.error) return; // no runuser here: the refusal is covered by labUnavailable()
  assert.equal(asNobody.status, 2, asNobody.stderr);
  assert.match(asNobody.stderr, /needs root/);
});

test("corral verify: Ctrl-C in the middle of a run removes the lab", { skip }, async () => {
  const prefix = newPrefix();
  const args = [
    "verify",
    "--lab",
    "--prefix",
    prefix,
    "-p",
    join(PROJECT_ROOT, "examples/superagi/corral.yaml"),
    "-f",
    join(PROJECT_ROOT, "examples/superagi/docker-compose.yml"),
  ];
  const child = spawn(process.execPath, [join(PROJECT_ROOT, "src/cli/main.ts"), ...args], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (leftovers(prefix).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(leftovers(prefix).length >= 3, "the lab came up");
  child.kill("SIGINT");
  await once(child, "exit");
  assert.deepEqual(leftovers(prefix), []);
});
