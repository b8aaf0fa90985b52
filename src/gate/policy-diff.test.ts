import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicy } from "../policy/load.ts";
import { diffSummary, policyDiff } from "./policy-diff.ts";

const base = `version: 1
zones:
  agents: { services: [celery] }
  data: { services: [postgres] }
flows:
  - { from: agents, to: data, ports: [5432/tcp] }
identities:
  agents-id: { source: [10.0.0.1/32] }
egress:
  - name: llm
    from: [agents]
    allow: [api.openai.com:443]
  - from: [agents-id]
    allow: [pypi.org:443]
`;

const policy = (text: string) => parsePolicy(text, "/tmp/p.yaml").policy;

test("first load: everything added", () => {
  const d = policyDiff(undefined, policy(base));
  assert.deepEqual(d.zones, { added: ["agents", "data"], removed: [], changed: [] });
  assert.deepEqual(d.flows.added, ["agents -> data"]);
  assert.deepEqual(d.egress.added, ["llm", "from agents-id"]);
  assert.equal(diffSummary(d), "zones +2 -0 ~0, flows +1 -0 ~0, egress +2 -0 ~0");
});

test("same policy reordered and reformatted: no change", () => {
  const reordered = base.replace(
    "  agents: { services: [celery] }\n  data: { services: [postgres] }",
    "  data: { services: [postgres] }\n  agents: { services: [celery] }",
  );
  const d = policyDiff(policy(base), policy(reordered));
  assert.equal(diffSummary(d), "zones +0 -0 ~0, flows +0 -0 ~0, egress +0 -0 ~0");
});

test("added, removed and changed are named per section", () => {
  const next = base
    .replace(
      "data: { services: [postgres] }",
      "data: { services: [postgres, redis] }\n  tools: { services: [browser] }",
    )
    .replace("[5432/tcp]", "[5432/tcp, 6379/tcp]")
    .replace("allow: [api.openai.com:443]", "allow: [api.openai.com:443, api.anthropic.com:443]")
    .replace("  - from: [agents-id]\n    allow: [pypi.org:443]\n", "");
  const d = policyDiff(policy(base), policy(next));
  assert.deepEqual(d.zones, { added: ["tools"], removed: [], changed: ["data"] });
  assert.deepEqual(d.flows, { added: [], removed: [], changed: ["agents -> data"] });
  assert.deepEqual(d.egress, { added: [], removed: ["from agents-id"], changed: ["llm"] });
});

test("unnamed flows with the same endpoints are told apart by position among equals", () => {
  const flow = (port: string) => ({ from: ["a"], to: ["b"], ports: [port] });
  const before = { zones: {}, flows: [flow("80/tcp"), flow("443/tcp")], egress: [] };
  const after = { zones: {}, flows: [flow("80/tcp"), flow("8443/tcp")], egress: [] };
  const d = policyDiff(before as never, after as never);
  assert.deepEqual(d.flows, { added: [], removed: [], changed: ["a -> b#2"] });
});
