import assert from "node:assert/strict";
import { test } from "node:test";
import ipaddr from "ipaddr.js";
import { parsePolicy } from "../policy/load.ts";
import { decide } from "./decide.ts";
import { resolveCaller, tokenFromHeader } from "./identity.ts";
import { buildIndex } from "./policy-index.ts";

const POLICY = `version: 1
zones:
  agents: { services: [celery, "agent-*"] }
  api: { services: [backend] }
identities:
  plugin-runs: { token_env: PLUGIN_TOKEN }
  ops: { source: [192.168.50.0/24] }
egress:
  - name: agents-llm
    from: agents
    allow: [api.openai.com:443, "*.googleapis.com:443", "**.deep.example:443", "203.0.113.0/24:8443", "10.20.0.5:8000"]
    deny: [blocked.googleapis.com]
    approval: ask
  - from: plugin-runs
    allow: [pypi.org:443]
    mode: report
  - from: api
    mode: learn
  - from: ops
    allow: [ops.example:22]
floor:
  allow_ranges: [10.20.0.0/16]
`;

const index = buildIndex(parsePolicy(POLICY, "corral.yaml").policy, {
  env: { PLUGIN_TOKEN: "s3cret" },
  serviceMap: { celery: "172.18.0.5", "agent-7": "172.18.0.9", backend: "172.18.0.6" },
});
const ip = (s: string) => ipaddr.parse(s);

test("allow by exact name and port, with the rule and reason", () => {
  const d = decide(index, "celery", { name: "API.OpenAI.com.", port: 443 });
  assert.equal(d.verdict, "allow");
  assert.deepEqual(d.rule, { id: "egress:agents", name: "agents-llm" });
  assert.equal(d.code, "listed");
  assert.match(d.detail ?? "", /api\.openai\.com:443/);
  assert.equal(d.name, "api.openai.com");
});

test("port allowlist: the right name on the wrong port is denied", () => {
  assert.equal(decide(index, "celery", { name: "api.openai.com", port: 80 }).verdict, "deny");
});

test("one-label and any-depth wildcards", () => {
  assert.equal(decide(index, "celery", { name: "storage.googleapis.com", port: 443 }).verdict, "allow");
  assert.equal(decide(index, "celery", { name: "a.b.googleapis.com", port: 443 }).verdict, "deny");
  assert.equal(decide(index, "celery", { name: "googleapis.com", port: 443 }).verdict, "deny");
  assert.equal(decide(index, "celery", { name: "a.b.deep.example", port: 443 }).verdict, "allow");
  assert.equal(decide(index, "celery", { name: "evilgoogleapis.com", port: 443 }).verdict, "deny");
});

test("explicit deny wins over a wildcard allow", () => {
  const d = decide(index, "agent-7", { name: "blocked.googleapis.com", port: 443 });
  assert.equal(d.verdict, "deny");
  assert.equal(d.code, "deny-listed");
  assert.equal(d.detail, "'blocked.googleapis.com'");
});

test("zone globs expand to mapped services", () => {
  assert.equal(decide(index, "agent-7", { name: "api.openai.com", port: 443 }).verdict, "allow");
});

test("CIDR rules match addresses; the floor still applies unless allow_ranges opens it", () => {
  assert.equal(decide(index, "celery", { ip: ip("203.0.113.7"), port: 8443 }).verdict, "deny"); // documentation range: floor
  const inside = decide(index, "celery", { ip: ip("10.20.0.5"), port: 8000 });
  assert.equal(inside.verdict, "allow");
  const meta = decide(index, "celery", { name: "169.254.169.254", port: 80 });
  assert.equal(meta.verdict, "deny");
  assert.equal(meta.rule.id, "floor");
});

test("IP literals in names are decided as addresses, in any notation", () => {
  for (const n of ["2130706433", "0x7f.1", "127.1", "[::1]", "::ffff:127.0.0.1"]) {
    const d = decide(index, "celery", { name: n, port: 443 });
    assert.equal(d.verdict, "deny", n);
    assert.equal(d.rule.id, "floor", n);
  }
  assert.equal(decide(index, "celery", { name: "1.2.3.4.5", port: 443 }).code, "invalid-address");
});

test("unknown identity and identities without rules: default deny", () => {
  assert.deepEqual(decide(index, undefined, { name: "api.openai.com", port: 443 }).rule, {
    id: "default",
    name: "default-deny",
  });
  assert.equal(decide(index, "nobody", { name: "api.openai.com", port: 443 }).verdict, "deny");
});

test("report mode allows but marks would-deny; learn mode allows above the floor only", () => {
  const r = decide(index, "plugin-runs", { name: "evil.example", port: 443 });
  assert.equal(r.verdict, "allow");
  assert.equal(r.mode, "report");
  assert.equal(r.wouldDeny, true);
  const l = decide(index, "backend", { name: "anything.example", port: 443 });
  assert.equal(l.verdict, "allow");
  assert.equal(l.mode, "learn");
  const floor = decide(index, "backend", { ip: ip("127.0.0.1"), port: 443 });
  assert.equal(floor.verdict, "deny");
  const floorReport = decide(index, "plugin-runs", { name: "169.254.169.254", port: 80 });
  assert.equal(floorReport.verdict, "deny");
});

test("approval: ask marks denials approvable; a live grant allows, an expired one does not", () => {
  const d = decide(index, "celery", { name: "new.example", port: 443 });
  assert.equal(d.approvable, true);
  const grants = [{ identity: "celery", name: "new.example", port: 443, expires: 2000 }];
  assert.equal(decide(index, "celery", { name: "new.example", port: 443 }, { grants, now: 1000 }).verdict, "allow");
  assert.equal(decide(index, "celery", { name: "new.example", port: 443 }, { grants, now: 3000 }).verdict, "deny");
  assert.equal(decide(index, "agent-7", { name: "new.example", port: 443 }, { grants, now: 1000 }).verdict, "deny");
});

test("DNS questions (no port) are allowed when some rule names the host", () => {
  assert.equal(decide(index, "celery", { name: "api.openai.com" }).verdict, "allow");
  assert.equal(decide(index, "celery", { name: "x.googleapis.com" }).verdict, "allow");
  assert.equal(decide(index, "celery", { name: "other.example" }).verdict, "deny");
});

test("identity: token first, then service map, then source CIDR; a wrong token is not downgraded", () => {
  assert.equal(resolveCaller(index, "172.18.0.5").identity, "celery");
  assert.equal(resolveCaller(index, "::ffff:172.18.0.5").identity, "celery");
  assert.equal(resolveCaller(index, "192.168.50.7").identity, "ops");
  assert.equal(resolveCaller(index, "192.168.51.7").identity, undefined);
  assert.equal(resolveCaller(index, "172.18.0.5", "Bearer s3cret").identity, "plugin-runs");
  const basic = `Basic ${Buffer.from("x:s3cret").toString("base64")}`;
  assert.equal(resolveCaller(index, "10.0.0.1", basic).identity, "plugin-runs");
  assert.equal(resolveCaller(index, "172.18.0.5", "Bearer wrong").identity, undefined);
  assert.equal(tokenFromHeader("Digest abc"), undefined);
});
