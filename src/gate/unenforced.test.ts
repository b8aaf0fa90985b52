// Until the proxy terminates TLS for them, a policy with credentials or request rules must not
// run: a gate that accepted it would let through what the policy refuses.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestGate } from "./testkit.ts";

const BASE =
  "version: 1\nzones:\n  agents: { services: [worker] }\negress:\n  - from: agents\n    allow: [api.openai.com:443]\n";

test("a gate refuses to start on credentials or request rules it cannot enforce yet", async () => {
  const withRequests = `${BASE}requests:\n  - from: agents\n    host: api.openai.com\n    allow: ["POST /v1/chat/completions"]\n`;
  await assert.rejects(startTestGate(withRequests), /requests is not enforced by this gate yet/);
  const withCredentials = `${BASE}credentials:\n  openai:\n    value: { env: OPENAI_API_KEY }\n    for: agents\n    to: { host: api.openai.com }\n`;
  await assert.rejects(startTestGate(withCredentials), /credentials is not enforced/);
  const gate = await startTestGate(BASE);
  await gate.close();
});
