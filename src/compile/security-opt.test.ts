// security_opt is replaced, not appended: Compose rejects a list holding no-new-privileges twice
// (RAGFlow's sandbox ships it), and a shipped no-new-privileges:false must not survive beside ours.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { composeFromText } from "../model/compose/read.ts";
import { parsePolicy } from "../policy/index.ts";
import { renderOverlay } from "./compose-overlay.ts";
import { buildPlan } from "./plan.ts";
import { dig, mergeCompose } from "./testkit.ts";

const SHIPPED = `services:
  sandbox:
    image: acme/sandbox
    security_opt: ["no-new-privileges:true", "apparmor=docker-default"]
  loose:
    image: acme/loose
    security_opt: ["no-new-privileges:false"]
  plain:
    image: acme/plain
`;

test("security_opt: one no-new-privileges:true, the shipped others kept", () => {
  const d = composeFromText(SHIPPED, { env: {} });
  const { policy } = parsePolicy("version: 1\nzones: { a: { services: [sandbox, loose, plain] } }\n", "corral.yaml");
  const overlay = renderOverlay(buildPlan(policy, d), d);
  assert.match(overlay, /security_opt: !override/);
  const merged = mergeCompose(SHIPPED, overlay);
  assert.deepEqual(dig(merged, "services", "sandbox", "security_opt"), [
    "apparmor=docker-default",
    "no-new-privileges:true",
  ]);
  assert.deepEqual(dig(merged, "services", "loose", "security_opt"), ["no-new-privileges:true"]);
  assert.deepEqual(dig(merged, "services", "plain", "security_opt"), ["no-new-privileges:true"]);
  assert.ok(parse(SHIPPED));
});

test("a privileged service keeps its privilege: no cap_drop or no-new-privileges runc would refuse", () => {
  const text = `services:\n  manager:\n    image: acme/manager\n    privileged: true\n`;
  const d = composeFromText(text, { env: {} });
  const { policy } = parsePolicy("version: 1\nzones: { a: { services: [manager] } }\n", "corral.yaml");
  const merged = mergeCompose(text, renderOverlay(buildPlan(policy, d), d));
  assert.equal(dig(merged, "services", "manager", "cap_drop"), undefined);
  assert.equal(dig(merged, "services", "manager", "security_opt"), undefined);
  assert.ok(dig(merged, "services", "manager", "networks"), "still on its zone network");
});
