import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runCli } from "../testing/cli.ts";
import { fixture, sharedSkip } from "../testing/shared.ts";

const dir = mkdtempSync(join(tmpdir(), "corral-scan-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(...argv: string[]) {
  return runCli(argv, { cwd: dir });
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const BASE = `services:
  api:
    image: acme/api:1.0
    ports:
      - "8080:8080"
`;

test("default text output, exit 0 without --fail-on", async () => {
  write("compose.yaml", BASE);
  const r = await run("scan", "-f", "compose.yaml");
  assert.equal(r.code, 0);
  assert.match(r.out, /CRL-N001 {2}publishes 8080 → 8080\/tcp on all interfaces/);
  assert.match(r.out, /compose\.yaml:5:9/);
});

test("--fail-on: 1 at or above the threshold, 0 below", async () => {
  write("compose.yaml", BASE);
  assert.equal((await run("scan", "-f", "compose.yaml", "--fail-on", "medium")).code, 1);
  assert.equal((await run("scan", "-f", "compose.yaml", "--fail-on", "critical")).code, 0);
  const bad = await run("scan", "-f", "compose.yaml", "--fail-on", "severe");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown severity 'severe'/);
});

test("-f is repeatable: compose files merge", async () => {
  write("compose.yaml", BASE);
  write("override.yaml", "services:\n  api:\n    privileged: true\n");
  const r = await run("scan", "-f", "compose.yaml", "-f", "override.yaml", "--format", "json");
  const j = JSON.parse(r.out);
  const f = j.findings.find((x: { ruleId: string }) => x.ruleId === "CRL-R001");
  assert.deepEqual(f.location, { file: "override.yaml", line: 3, column: 5 });
});

test("unreadable input exits 2 with the position", async () => {
  write("broken.yaml", "services:\n  api:\n    image: [unclosed\n");
  const r = await run("scan", "-f", "broken.yaml");
  assert.equal(r.code, 2);
  assert.match(r.err, /broken\.yaml:\d+:\d+/);
  const missing = await run("scan", "-f", "nope.yaml");
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nope\.yaml:1:1: error: file not found/);
});

test("Kubernetes manifests are detected by apiVersion/kind", async () => {
  write(
    "pod.yaml",
    "apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: x }\nspec:\n  containers:\n    - name: c\n      image: busybox\n      securityContext: { privileged: true }\n",
  );
  const r = await run("scan", "-f", "pod.yaml", "--format", "json");
  const j = JSON.parse(r.out);
  assert.equal(j.platform, "kubernetes");
  assert.equal(j.findings.find((x: { ruleId: string }) => x.ruleId === "CRL-R001").location.line, 8);
  const mixed = await run("scan", "-f", "pod.yaml", "-f", "compose.yaml");
  assert.equal(mixed.code, 2);
});

test("--write-baseline then --baseline: findings reported as suppressed, exit 0", async () => {
  write("compose.yaml", BASE);
  const w = await run("scan", "-f", "compose.yaml", "--write-baseline", "baseline.json", "--reason", "legacy demo");
  assert.equal(w.code, 0);
  const b = JSON.parse(readFileSync(join(dir, "baseline.json"), "utf8"));
  assert.equal(b.schemaVersion, 1);
  assert.ok(b.entries.every((e: { reason: string }) => e.reason === "legacy demo"));
  const r = await run("scan", "-f", "compose.yaml", "--baseline", "baseline.json", "--fail-on", "info");
  assert.equal(r.code, 0);
  assert.match(r.out, /0 findings, \d+ suppressed/);
  assert.match(r.out, /CRL-N001 {2}api {2}compose\.yaml:5 {2}\(baseline: legacy demo\)/);
});

test("every format renders", async () => {
  write("compose.yaml", BASE);
  for (const format of ["json", "sarif", "markdown", "mermaid", "dot"]) {
    const r = await run("scan", "-f", "compose.yaml", "--format", format);
    assert.equal(r.code, 0, format);
    assert.ok(r.out.length > 20, format);
  }
  assert.equal((await run("scan", "-f", "compose.yaml", "--format", "xml")).code, 2);
});

test("--policy: undeclared reachability is reported", async () => {
  write("two.yaml", "services:\n  api: { image: acme/api:1.0 }\n  db: { image: postgres:16 }\n");
  write(
    "corral.yaml",
    "version: 1\nzones:\n  api: { services: [api] }\n  data: { services: [db] }\nflows:\n  - { from: api, to: data, ports: [5432/tcp] }\n",
  );
  const r = await run("scan", "-f", "two.yaml", "--policy", "corral.yaml", "--format", "json");
  const p001 = JSON.parse(r.out).findings.filter((f: { ruleId: string }) => f.ruleId === "CRL-P001");
  assert.deepEqual(p001.map((f: { service: string }) => f.service).sort(), ["api", "db"]);
});

test("openhands fixture: docker.sock and 0.0.0.0 publish at their lines", { skip: sharedSkip() }, async () => {
  const r = await run("scan", "-f", fixture("compose", "openhands", "docker-compose.yml"), "--format", "json");
  const j = JSON.parse(r.out);
  const line = (id: string) => j.findings.find((f: { ruleId: string }) => f.ruleId === id)?.location.line;
  assert.equal(line("CRL-M001"), 18);
  assert.equal(line("CRL-N001"), 14);
});
