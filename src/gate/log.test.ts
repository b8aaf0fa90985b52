// The hand-built decision line is the fast path for pino's own output: for every shape of
// request event it must be the same bytes pino writes for the same fields and message.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import fc from "fast-check";
import pino from "pino";
import type { DecisionEvent } from "./events.ts";
import { decisionFields, decisionLine, decisionMessage, loggerOptions } from "./log.ts";
import { REASON_CODES } from "./reason.ts";

const AT = Date.UTC(2026, 11, 3, 13, 0, 0, 123);

function pinoLine(ev: DecisionEvent): string {
  let out = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const logger = pino({ ...loggerOptions(), timestamp: () => `,"time":"${new Date(AT).toISOString()}"` }, sink);
  logger.info(decisionFields(ev), decisionMessage(ev));
  return out;
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "binary", minLength: 40, maxLength: 80 }),
  fc.constantFrom("api.openai.com", "é.example", 'q"uote\\d', "\u0000\u001f\u2028"),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const eventArb: fc.Arbitrary<DecisionEvent> = fc
  .record({
    transport: fc.constantFrom("dns", "connect", "http"),
    sourceIp: fc.constantFrom("127.0.0.1", "::1", "10.203.0.5"),
    identity: maybe(text),
    name: maybe(text),
    ip: maybe(fc.constantFrom("93.184.216.34", "2001:db8::1")),
    port: maybe(fc.integer({ min: 1, max: 65535 })),
    verdict: fc.constantFrom("allow", "deny"),
    mode: fc.constantFrom("enforce", "report", "learn"),
    code: fc.constantFrom(...REASON_CODES),
    detail: maybe(text),
    ruleId: text,
    ruleName: text,
    wouldDeny: fc.boolean(),
    outcome: fc.constantFrom("success", "denied", "failure"),
    status: maybe(fc.constantFrom(200, 403, 407, 429, 431, 502, 504)),
    rcode: maybe(fc.constantFrom("NOERROR", "NXDOMAIN", "SERVFAIL")),
    bytes: maybe(fc.tuple(fc.nat(), fc.nat())),
    latencyMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
    durationMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
    error: maybe(text),
    dropped: maybe(fc.array(text, { maxLength: 3 })),
    approvalId: maybe(fc.stringMatching(/^[0-9a-f]{1,16}$/)),
    run: maybe(text),
    http: maybe(fc.tuple(fc.constantFrom("GET", "POST"), text)),
    credentials: maybe(fc.array(text, { minLength: 1, maxLength: 2 })),
  })
  .map((r) => {
    const ev: DecisionEvent = {
      time: AT,
      transport: r.transport as DecisionEvent["transport"],
      sourceIp: r.sourceIp,
      identity: r.identity,
      decision: {
        verdict: r.verdict as "allow" | "deny",
        mode: r.mode as "enforce",
        code: r.code,
        rule: { id: r.ruleId, name: r.ruleName },
        ...(r.detail !== undefined ? { detail: r.detail } : {}),
        ...(r.wouldDeny ? { wouldDeny: true } : {}),
      },
      outcome: r.outcome as DecisionEvent["outcome"],
      latencyMs: r.latencyMs,
      durationMs: r.durationMs,
    };
    if (r.name !== undefined) ev.name = r.name;
    if (r.ip !== undefined) ev.ip = r.ip;
    if (r.port !== undefined) ev.port = r.port;
    if (r.status !== undefined) ev.status = r.status;
    if (r.rcode !== undefined) ev.rcode = r.rcode;
    if (r.bytes) [ev.bytesUp, ev.bytesDown] = r.bytes;
    if (r.error !== undefined) ev.error = r.error;
    if (r.dropped !== undefined) ev.droppedAnswers = r.dropped;
    if (r.approvalId !== undefined) ev.approvalId = r.approvalId;
    if (r.run !== undefined) ev.run = r.run;
    if (r.http !== undefined) ev.http = { method: r.http[0], path: r.http[1] };
    if (r.credentials !== undefined) ev.credentials = r.credentials;
    return ev;
  });

test("the fast decision line is byte for byte pino's line (5k events of every shape)", () => {
  fc.assert(
    fc.property(eventArb, (ev) => {
      const fast = decisionLine(ev, AT);
      assert.equal(fast, pinoLine(ev));
      // The decision part is remembered per decision object: a second line reuses it.
      assert.equal(decisionLine(ev, AT), fast);
      JSON.parse(fast);
    }),
    { numRuns: 5000, seed: 20261203 },
  );
});

test("a failure reads as one in the line: verdict allow, outcome failure, the error", () => {
  const ev: DecisionEvent = {
    time: AT,
    transport: "dns",
    sourceIp: "127.0.0.1",
    identity: "agents",
    name: "api.openai.com",
    decision: {
      verdict: "allow",
      mode: "enforce",
      code: "listed",
      detail: "'api.openai.com:443'",
      rule: { id: "egress:agents", name: "agents-llm" },
    },
    outcome: "failure",
    rcode: "SERVFAIL",
    latencyMs: 2000,
    durationMs: 2000,
    error: "upstream: timeout",
  };
  const line = JSON.parse(decisionLine(ev, AT));
  assert.equal(line["corral.verdict"], "allow");
  assert.equal(line["corral.outcome"], "failure");
  assert.equal(line["event.outcome"], "failure");
  assert.equal(line["error.message"], "upstream: timeout");
  assert.equal(line["corral.reason_code"], "listed");
  assert.match(line.message, /^allow api\.openai\.com .*; failed: upstream: timeout$/);
});
