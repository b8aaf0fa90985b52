import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PROJECT_ROOT, sharedDir, sharedSkip } from "../testing/shared.ts";
import { loadPolicy, parsePolicy } from "./load.ts";

test("the policy in DESIGN.md loads as written and means what its comments say", { skip: sharedSkip() }, () => {
  const design = readFileSync(join(sharedDir()!, "DESIGN.md"), "utf8");
  const yaml = /```yaml\n([\s\S]*?)```/.exec(design)![1]!;
  const { policy } = parsePolicy(yaml, "DESIGN.md");
  assert.equal(policy.project, "superagi");
  assert.equal(policy.zones.agents!.isolate, "per-service");
  assert.equal(policy.zones.web!.isolate, "shared", "isolate defaults to shared");
  assert.deepEqual(policy.flows[1]!.from, ["api", "agents"]);
  assert.deepEqual(policy.flows[0]!.to, ["gui", "backend"]);
  assert.equal(policy.egress[0]!.approval, "ask");
  assert.equal(policy.egress[1]!.mode, "report");
  assert.equal(policy.egress[2]!.mode, "learn");
  assert.equal(policy.egress[0]!.mode, "enforce", "mode defaults to enforce");
  assert.equal(policy.dns.deny_answer, "nxdomain");
  assert.deepEqual(policy.gate.listen.proxy, { host: "0.0.0.0", port: 3128 });
  assert.equal(policy.sandbox.profiles.plugin!.limits.memory, "512Mi");
  assert.equal(policy.audit!.checkpoint!.every, 1000);
});

test("a policy that says nothing allows nothing", () => {
  const { policy } = parsePolicy("version: 1\n", "p.yaml");
  assert.deepEqual(policy.flows, []);
  assert.deepEqual(policy.egress, []);
  assert.deepEqual(policy.publish, []);
  assert.deepEqual(policy.gate.listen.admin, { host: "127.0.0.1", port: 9099 }, "admin binds loopback by default");
});

test("the bundled example policy loads", async () => {
  const loaded = await loadPolicy(join(PROJECT_ROOT, "examples", "superagi", "corral.yaml"));
  assert.match(loaded.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(loaded.policy.zones), ["web", "api", "agents", "data"]);
});

test("a missing policy file is a positioned error with a fix", async () => {
  await assert.rejects(
    loadPolicy("/nonexistent/corral.yaml"),
    /corral\.yaml:1:1: error: policy file not found\n {2}hint: create one with 'corral init/,
  );
});

test("every problem is reported at once, not only the first", () => {
  const text = "version: 1\nzones:\n  a: { services: [x] }\nflows:\n  - { from: b, to: c, ports: [1/tcp] }\n";
  assert.throws(
    () => parsePolicy(text, "p.yaml"),
    (err: Error & { problems?: unknown[] }) => err.problems?.length === 2,
  );
});

test("zones match services by glob and by labels", () => {
  const { policy } = parsePolicy(
    "version: 1\nzones:\n  agents: { services: ['agent-*'] }\n  data: { labels: { tier: data } }\nflows:\n  - { from: agent-one, to: data, ports: [5432/tcp] }\n",
    "p.yaml",
  );
  assert.equal(policy.zones.data!.labels!.tier, "data");
});

test("paths in the policy are relative to the policy file, resolved at load", () => {
  const { policy } = parsePolicy(
    "version: 1\ngate: { state_dir: state }\naudit: { path: log, checkpoint: { key: ../keys/a.key } }\nui: { state_dir: /abs/ui, tls: { cert: c.pem, key: k.pem } }\n",
    "corral.yaml",
    "/srv/stack",
  );
  assert.equal(policy.gate.state_dir, "/srv/stack/state");
  assert.equal(policy.audit!.path, "/srv/stack/log");
  assert.equal(policy.audit!.checkpoint!.key, "/srv/keys/a.key");
  assert.equal(policy.ui!.state_dir, "/abs/ui");
  assert.deepEqual(policy.ui!.tls, { cert: "/srv/stack/c.pem", key: "/srv/stack/k.pem" });
});
