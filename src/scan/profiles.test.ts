// Services behind compose profiles: scanned by default (findings name the profiles), narrowed
// by --profile / COMPOSE_PROFILES as compose would start them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../testing/cli.ts";

const FILE = new URL("./testdata/profiles.compose.yaml", import.meta.url).pathname;

async function scanJson(...extra: string[]) {
  const r = await runCli(["scan", "-f", FILE, "--format", "json", ...extra], { cwd: "/", env: {} });
  return JSON.parse(r.out) as {
    summary: { services: number; inactiveProfiles: { count: number; scanned: boolean } };
    findings: Array<{ ruleId: string; service: string; profiles: string[] }>;
  };
}

test("a privileged service behind a profile is found by default, marked with its profile", async () => {
  const out = await scanJson();
  const hit = out.findings.find((f) => f.ruleId === "CRL-R001");
  assert.equal(hit?.service, "debug-shell");
  assert.deepEqual(hit?.profiles, ["debug"]);
  assert.deepEqual(out.summary.inactiveProfiles, { count: 1, scanned: true });
});

test("--profile narrows to what compose would start; the summary counts what is left out", async () => {
  const other = await scanJson("--profile", "gpu");
  assert.equal(other.summary.services, 1);
  assert.ok(!other.findings.some((f) => f.ruleId === "CRL-R001"));
  assert.deepEqual(other.summary.inactiveProfiles, { count: 1, scanned: false });
  const debug = await scanJson("--profile", "debug");
  assert.ok(debug.findings.some((f) => f.ruleId === "CRL-R001"));
  assert.deepEqual(debug.summary.inactiveProfiles, { count: 0, scanned: false });
});

test("COMPOSE_PROFILES narrows like --profile", async () => {
  const r = await runCli(["scan", "-f", FILE, "--format", "json"], { cwd: "/", env: { COMPOSE_PROFILES: "gpu" } });
  assert.equal(JSON.parse(r.out).summary.services, 1);
});
