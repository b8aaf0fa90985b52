import assert from "node:assert/strict";
import { test } from "node:test";
import { placeholderFor } from "../../policy/placeholder.ts";
import { policySchema } from "../../policy/schema.ts";
import { BodyScanner, type BrokerRequest, brokerRequest } from "./broker.ts";
import { buildCredentialIndex } from "./credential-index.ts";

const policy = policySchema.parse({
  version: 1,
  project: "demo",
  zones: { agents: { services: ["worker", "planner"] }, web: { services: ["ui"] } },
  credentials: {
    openai: {
      value: { env: "OPENAI_API_KEY" },
      for: "agents",
      to: { host: "api.openai.com", methods: ["POST"], paths: ["/v1/chat/completions", "/v1/embeddings"] },
    },
    anthropic: {
      value: { file: "/run/secrets/anthropic" },
      for: "worker",
      to: { host: "api.anthropic.com" },
      send: { header: "x-api-key" },
    },
    maps: { value: { env: "MAPS_KEY" }, for: "worker", to: { host: "maps.example.com" }, send: { query: "key" } },
    basic: { value: { env: "B" }, for: "worker", to: { host: "basic.example.com", port: 8443 }, send: "basic" },
  },
});
const index = buildCredentialIndex({
  policy,
  principals: ["worker", "planner", "ui"],
  identityOf: (p) => p,
  expand: (n) => (n === "agents" ? ["worker", "planner"] : [n]),
});
const REAL: Record<string, string> = {
  openai: "sk-real-openai",
  anthropic: "sk-ant-real",
  maps: "real/maps key",
  basic: "pw",
};
const value = (c: string) => REAL[c];
const ph = (cred: string, who: string, format: Parameters<typeof placeholderFor>[3]) =>
  placeholderFor("demo", cred, who, format);
const P = ph("openai", "worker", "openai");

function req(over: Partial<BrokerRequest>): BrokerRequest {
  return {
    identity: "worker",
    host: "api.openai.com",
    port: 443,
    method: "POST",
    target: "/v1/chat/completions",
    tls: true,
    headers: [
      ["Authorization", `Bearer ${P}`],
      ["content-type", "application/json"],
    ],
    ...over,
  };
}

test("the bound request from its own identity gets the real value, in place", () => {
  const r = brokerRequest(index, req({}), value);
  assert.equal(r.kind, "pass");
  if (r.kind !== "pass") return;
  assert.deepEqual(r.headers[0], ["Authorization", "Bearer sk-real-openai"]);
  assert.deepEqual(r.used, ["openai"]);
  assert.equal(r.decision?.code, "brokered");
  assert.equal(r.decision?.rule.id, "credential:openai");
  assert.ok(!JSON.stringify(r.decision).includes("sk-real"));
});

test("a placeholder anywhere but its bound place is refused as exfiltration", () => {
  const cases: [string, Partial<BrokerRequest>][] = [
    ["another host", { host: "evil.example.com" }],
    ["another port", { port: 8443 }],
    ["query", { target: `/v1/chat/completions?k=${P}`, headers: [] }],
    [
      "percent-encoded query",
      { target: `/v1/chat/completions?k=${encodeURIComponent(P).replace(/-/g, "%2D")}`, headers: [] },
    ],
    ["another header", { headers: [["X-Debug", P]] }],
    ["bearer in another header", { headers: [["X-Auth", `Bearer ${P}`]] }],
    ["basic encoded", { headers: [["Authorization", `Basic ${Buffer.from(`u:${P}`).toString("base64")}`]] }],
  ];
  for (const [what, over] of cases) {
    const r = brokerRequest(index, req(over), value);
    assert.equal(r.kind, "deny", what);
    if (r.kind === "deny") assert.equal(r.decision.code, "credential-exfiltration", what);
  }
});

test("another identity's placeholder, or a credential not permitted, is forbidden", () => {
  const stolen = brokerRequest(index, req({ identity: "planner" }), value);
  assert.equal(stolen.kind === "deny" && stolen.decision.code, "credential-forbidden");
  const ui = ph("openai", "ui", "openai");
  const r = brokerRequest(index, req({ identity: "ui", headers: [["Authorization", `Bearer ${ui}`]] }), value);
  assert.equal(r.kind === "deny" && r.decision.code, "credential-forbidden");
  const unknown = brokerRequest(index, req({ identity: undefined }), value);
  assert.equal(unknown.kind === "deny" && unknown.decision.code, "credential-forbidden");
});

test("methods and paths bind the credential segment-wise; ambiguous paths are refused", () => {
  for (const [method, target] of [
    ["GET", "/v1/chat/completions"],
    ["POST", "/v1/files"],
    ["POST", "/v1/chat/completionsX"],
    ["POST", "/v1/chat/completions/../../files"],
    ["POST", "/v1/chat/completions/%2e%2e/x"],
  ] as const) {
    const r = brokerRequest(index, req({ method, target }), value);
    assert.equal(r.kind === "deny" && r.decision.code, "credential-scope", `${method} ${target}`);
  }
  const ok = brokerRequest(index, req({ target: "/v1/embeddings?dims=3" }), value);
  assert.equal(ok.kind, "pass");
});

test("named header, query parameter and Basic are swapped where they are sent", () => {
  const a = brokerRequest(
    index,
    req({
      host: "api.anthropic.com",
      target: "/v1/messages",
      headers: [["x-api-key", ph("anthropic", "worker", "anthropic")]],
    }),
    value,
  );
  assert.equal(a.kind === "pass" && a.headers[0]![1], "sk-ant-real");
  const m = brokerRequest(
    index,
    req({
      host: "maps.example.com",
      method: "GET",
      target: `/geo?q=x&key=${ph("maps", "worker", "generic")}`,
      headers: [],
    }),
    value,
  );
  assert.equal(m.kind === "pass" && m.target, `/geo?q=x&key=${encodeURIComponent("real/maps key")}`);
  const basic = `Basic ${Buffer.from(`api:${ph("basic", "worker", "generic")}`).toString("base64")}`;
  const b = brokerRequest(
    index,
    req({ host: "basic.example.com", port: 8443, headers: [["authorization", basic]] }),
    value,
  );
  assert.equal(b.kind === "pass" && b.headers[0]![1], `Basic ${Buffer.from("api:pw").toString("base64")}`);
});

test("no real value: the request fails closed instead of carrying the placeholder on", () => {
  const r = brokerRequest(index, req({}), () => undefined);
  assert.deepEqual(r, { kind: "unavailable", credential: "openai" });
});

test("requests without placeholders pass untouched", () => {
  const r = brokerRequest(index, req({ headers: [["Authorization", "Bearer sk-something-else"]] }), value);
  assert.equal(r.kind === "pass" && r.used.length, 0);
});

test("the body scanner finds a placeholder split across chunks, at every split point", () => {
  const body = Buffer.from(`{"messages":[{"content":"my key is ${P} ok"}]}`);
  for (let cut = 1; cut < body.length; cut++) {
    const s = new BodyScanner(index.placeholders);
    const hit = s.feed(body.subarray(0, cut)) ?? s.feed(body.subarray(cut));
    assert.equal(hit?.text, P, `cut at ${cut}`);
  }
  const clean = new BodyScanner(index.placeholders);
  assert.equal(clean.feed(Buffer.from("x".repeat(5000))), undefined);
});

test("credential misuse raises its own alert; a brokered use is audited one by one, by name only", async () => {
  const { auditData, credentialAlertSubscriber } = await import("../subscribers.ts");
  const { isAggregatable } = await import("../../audit/aggregate.ts");
  const alerts: { kind: string; message: string }[] = [];
  const listener = credentialAlertSubscriber((a) => alerts.push(a));
  const denied = brokerRequest(index, req({ host: "evil.example.com" }), value);
  assert.equal(denied.kind, "deny");
  if (denied.kind !== "deny") return;
  const base = {
    time: 1,
    transport: "http" as const,
    sourceIp: "10.203.0.5",
    identity: "worker",
    latencyMs: 0,
    durationMs: 0,
  };
  listener({ ...base, decision: denied.decision, outcome: "denied", name: "evil.example.com", port: 443 }, 1);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.kind, "credential_exfiltration");
  const used = brokerRequest(index, req({}), value);
  if (used.kind !== "pass" || !used.decision) throw new Error("not brokered");
  listener({ ...base, decision: used.decision, outcome: "success" }, 1);
  assert.equal(alerts.length, 1);
  const data = auditData({
    ...base,
    decision: used.decision,
    outcome: "success",
    name: "api.openai.com",
    port: 443,
    status: 200,
    http: { method: "POST", path: "/v1/chat/completions" },
    credentials: used.used,
  });
  assert.deepEqual(
    [data.credentials, data.method, data.path, data.status],
    [["openai"], "POST", "/v1/chat/completions", 200],
  );
  assert.equal(isAggregatable("gate.decision", data as never), false);
  assert.ok(!JSON.stringify([data, alerts]).includes("sk-real"));
});

test("a query credential goes only into its own plainly written pair", () => {
  const M = ph("maps", "worker", "generic");
  const maps = (target: string) =>
    brokerRequest(index, req({ host: "maps.example.com", method: "GET", target, headers: [] }), value);
  // The review's attack: the decoded `key` equals the placeholder, the literal one sits in the
  // path, and a naive swap writes the real key where the server echoes it.
  const encoded = `%${M.charCodeAt(0).toString(16)}${M.slice(1)}`;
  for (const target of [
    `/models/${M}?key=${encoded}`,
    `/geo?callback=${M}&key=${encoded}`,
    `/geo?key=${M}&key=${M}`,
    `/geo?key=${M}&cb=${M}`,
    `/geo?%6bey=${M}`,
    `/geo?key=${M}x`,
    `/geo?key=${encoded}&bad=%zz`,
  ]) {
    const r = maps(target);
    assert.equal(r.kind === "deny" && r.decision.code, "credential-exfiltration", target);
  }
  const ok = maps(`/geo?q=a&key=${M}`);
  assert.equal(ok.kind === "pass" && ok.target, `/geo?q=a&key=${encodeURIComponent("real/maps key")}`);
});

test("a placeholder is never swapped into a request that is not inside a terminated tunnel", () => {
  const r = brokerRequest(index, req({ tls: false }), value);
  assert.equal(r.kind === "deny" && r.decision.code, "credential-exfiltration");
  assert.match(r.kind === "deny" ? (r.decision.detail ?? "") : "", /plain HTTP/);
});

test("an encoded placeholder is found even beside a malformed escape", () => {
  const encoded = `%${P.charCodeAt(0).toString(16)}${P.slice(1)}`;
  const r = brokerRequest(
    index,
    req({ host: "elsewhere.example", target: `/x?a=${encoded}&b=%zz`, headers: [] }),
    value,
  );
  assert.equal(r.kind === "deny" && r.decision.code, "credential-exfiltration");
});

test("TRACE never carries a real value: the server would echo it back", () => {
  const r = brokerRequest(
    index,
    req({
      host: "api.anthropic.com",
      method: "TRACE",
      target: "/",
      headers: [["x-api-key", ph("anthropic", "worker", "anthropic")]],
    }),
    value,
  );
  assert.equal(r.kind === "deny" && r.decision.code, "credential-scope");
});
