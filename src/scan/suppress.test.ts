import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBaseline, renderBaseline } from "./baseline.ts";
import { applyBaseline, parseDirectives } from "./suppress.ts";
import { scanComposeText } from "./testing.ts";

const COMPOSE = `services:
  sandbox:  # corral-ignore CRL-L005: the runtime has its own liveness probe
    image: x:1
    # corral-ignore CRL-M001: socket proxy is not available on this host yet
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
    privileged: true  # corral-ignore CRL-R001, CRL-R011: needs /dev/kvm for microVMs
    cap_add:
      - SYS_ADMIN  # corral-ignore CRL-C001
    user: root  # corral-ignore CRL-R010: reason on the offending line
`;

test("parseDirectives reads ids, reasons and columns", () => {
  const d = parseDirectives("f", COMPOSE.split("\n"));
  assert.deepEqual(d.get(7)?.ruleIds, ["CRL-R001", "CRL-R011"]);
  assert.equal(d.get(7)?.reason, "needs /dev/kvm for microVMs");
  assert.equal(d.get(9)?.reason, undefined);
  assert.equal(d.get(2)?.pos.col, 13);
});

test("inline suppressions: on the line, the line above, and the service key line", async () => {
  const r = await scanComposeText(COMPOSE);
  const sup = (id: string) => r.findings.find((f) => f.ruleId === id)?.suppressed;
  assert.equal(sup("CRL-R001")?.reason, "needs /dev/kvm for microVMs"); // same line
  assert.equal(sup("CRL-R010")?.by, "inline"); // same line
  assert.equal(sup("CRL-L005")?.reason, "the runtime has its own liveness probe"); // service key line
  // The line above the socket's volume item is `volumes:`, not the comment: so not suppressed …
  assert.equal(sup("CRL-M001"), undefined);
});

test("a directive on the line above suppresses", async () => {
  const r = await scanComposeText(`services:
  a:
    image: x:1
    volumes:
      # corral-ignore CRL-M001: read by the metrics agent only, host is single-tenant
      - /var/run/docker.sock:/var/run/docker.sock
`);
  const f = r.findings.find((x) => x.ruleId === "CRL-M001");
  assert.equal(f?.suppressed?.reason, "read by the metrics agent only, host is single-tenant");
  assert.equal(f?.suppressed?.pos?.line, 5);
});

test("a directive without a reason suppresses nothing and is reported as CRL-X001", async () => {
  const r = await scanComposeText(COMPOSE);
  const cap = r.findings.find((f) => f.ruleId === "CRL-C001");
  assert.equal(cap?.suppressed, undefined);
  const meta = r.findings.filter((f) => f.ruleId === "CRL-X001");
  assert.equal(meta.length, 1);
  assert.equal(meta[0]?.pos.line, 9);
  assert.equal(meta[0]?.service, "sandbox");
});

test("baseline: entries with a reason suppress; without one they are reported as CRL-X002", async () => {
  const r = await scanComposeText(`services:\n  a:\n    image: x:latest\n    ports: ["3000:3000"]\n`);
  const text = `{
  "schemaVersion": 1,
  "entries": [
    { "ruleId": "CRL-N001", "service": "a", "reason": "public demo box" },
    { "ruleId": "CRL-I001", "service": "a" }
  ]
}`;
  const entries = parseBaseline(text, "b.json");
  assert.equal(entries[1]?.pos?.line, 5);
  const out = applyBaseline(r.findings, entries, "b.json");
  assert.equal(out.find((f) => f.ruleId === "CRL-N001")?.suppressed?.by, "baseline");
  assert.equal(out.find((f) => f.ruleId === "CRL-I001")?.suppressed, undefined);
  const x = out.find((f) => f.ruleId === "CRL-X002");
  assert.equal(x?.pos.line, 5);
});

test("renderBaseline round-trips through parseBaseline and keeps existing reasons", async () => {
  const r = await scanComposeText(`services:\n  a:\n    image: x:latest\n    ports: ["3000:3000"]\n`);
  const text = renderBaseline(r.findings, "accepted");
  const entries = parseBaseline(text, "b.json");
  assert.ok(entries.some((e) => e.ruleId === "CRL-N001" && e.service === "a" && e.reason === "accepted"));
  const again = applyBaseline(r.findings, entries, "b.json");
  assert.ok(again.every((f) => f.suppressed));
  const rewritten = parseBaseline(renderBaseline(again, "new reason"), "b.json");
  assert.ok(rewritten.every((e) => e.reason === "accepted"));
});

test("a malformed baseline is an input error with a position", () => {
  assert.throws(
    () => parseBaseline(`{ "schemaVersion": 1, "entries": [ { "ruleId": "nope", "service": "a" } ] }`, "b.json"),
    (e: Error & { pos?: { line: number } }) => e.name === "InputError" && e.pos?.line === 1 && /ruleId/.test(e.message),
  );
  assert.throws(() => parseBaseline("{ not json", "b.json"), /baseline is not valid JSON/);
});
