// Scanning a stack together with Corral's own overlay: the gate is recognised and not flagged for
// the egress that is its job, and the report says what it models so it does not read as a
// contradiction of `corral verify`.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../testing/cli.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";

const dir = mkdtempSync(join(tmpdir(), "corral-scan-overlay-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// The SuperAGI example's policy without its audit section (whose key compile checks on disk).
const example = join(PROJECT_ROOT, "examples", "superagi");
const policy = readFileSync(join(example, "corral.yaml"), "utf8").replace(/\naudit:\n(?: .*\n)*/, "\n");

interface Finding {
  ruleId: string;
  service: string;
  message: string;
}

async function scanJson(...files: string[]) {
  const r = await runCli(["scan", ...files.flatMap((f) => ["-f", f]), "--format", "json"], { cwd: dir });
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as { summary: { scope?: string }; findings: Finding[] };
}

const EGRESS_RULES = ["CRL-A001", "CRL-A002", "CRL-A004"];

before(async () => {
  writeFileSync(join(dir, "corral.yaml"), policy);
  writeFileSync(join(dir, "docker-compose.yml"), readFileSync(join(example, "docker-compose.yml")));
  const r = await runCli(
    ["compile", "--policy", "corral.yaml", "-f", "docker-compose.yml", "--target", "compose", "-o", "out/"],
    { cwd: dir },
  );
  assert.equal(r.code, 0, r.err);
});

test("scan of compose + Corral's overlay: the gate's egress is not a finding", async () => {
  const j = await scanJson("docker-compose.yml", "out/compose.corral.yml");
  const gate = j.findings.filter((f) => f.service === "corral-gate" && EGRESS_RULES.includes(f.ruleId));
  assert.deepEqual(gate, []);
});

test("with the overlay, the summary says what scan models and points to verify", async () => {
  const j = await scanJson("docker-compose.yml", "out/compose.corral.yml");
  assert.match(j.summary.scope ?? "", /compose-level networks only, not the nftables host rules/);
  assert.match(j.summary.scope ?? "", /corral verify --lab/);
  const text = await runCli(
    ["scan", "-f", "docker-compose.yml", "-f", "out/compose.corral.yml", "--policy", "corral.yaml"],
    {
      cwd: dir,
    },
  );
  assert.match(text.out, /services\nCorral's overlay is among these files\. scan models compose-level networks only/);
  assert.doesNotMatch(text.out, /corral-gate.*is in no zone/);
  const shipped = await scanJson("docker-compose.yml");
  assert.equal(shipped.summary.scope, undefined, "a stack without the overlay needs no such note");
});

test("a service passing for the gate by name or label alone is still flagged", async () => {
  const svc = (name: string, labels: string) =>
    `  ${name}:\n    image: acme/agent\n    labels: ${labels}\n    networks: [out]\n`;
  writeFileSync(
    join(dir, "spoof.yml"),
    `services:\n${svc("corral-gate", "{}")}${svc("worker", '{ "dev.corral.role": gate }')}networks:\n  out: {}\n`,
  );
  const j = await scanJson("spoof.yml");
  for (const name of ["corral-gate", "worker"])
    assert.ok(
      j.findings.some((f) => f.service === name && f.ruleId === "CRL-A001"),
      `${name} keeps its egress finding`,
    );
});
