// The change is spliced into the user's text: block lists get new items under the last one,
// flow lists and flow maps get them before their closing bracket with the evidence on a comment
// line above, and every byte the user wrote stays.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ChangeInput, type ObservedFlowEvidence, proposeChange } from "./policy-change.ts";

const none: Omit<ChangeInput, "flows" | "egress"> = {
  flowAllowed: () => false,
  egressAllowed: () => false,
  floorForbids: () => undefined,
};

/** Two connections from a to b on 80/tcp. */
const aToB = (first: string, last: string, srcPort: number): ObservedFlowEvidence => ({
  from: "a",
  to: "b",
  protocol: "tcp",
  port: 80,
  count: 2,
  first,
  last,
  example: { src: "10.0.0.2", dst: "10.0.0.3", srcPort },
});

test("flow-style lists and maps: additions before the closing bracket, evidence above, nothing else touched", () => {
  const text = `version: 1
egress:
  - { from: worker, mode: learn }   # what does it call out there?
  - { from: api, allow: [api.openai.com:443] }   # LLM
  - from: web
    allow: [a.test:443]
dns: { upstreams: ["10.203.19.2:53"] }
`;
  const r = proposeChange(text, {
    ...none,
    flows: [],
    egress: [
      {
        identity: "worker",
        destination: "x.test:80",
        count: 1,
        first: "2026-12-04T01:00:00.000Z",
        last: "2026-12-04T02:00:00.000Z",
      },
      { identity: "api", destination: "y.test:443", count: 2 },
      { identity: "web", destination: "z.test:443", count: 3 },
    ],
  });
  assert.equal(
    r.text,
    `version: 1
egress:
  # "x.test:80": learned 1 request, 2026-12-04T01:00:00.000Z to 2026-12-04T02:00:00.000Z
  - { from: worker, mode: learn, allow: ["x.test:80"] }   # what does it call out there?
  # "y.test:443": learned 2 requests
  - { from: api, allow: [api.openai.com:443, "y.test:443"] }   # LLM
  - from: web
    # "z.test:443": learned 3 requests
    allow: [a.test:443, "z.test:443"]
dns: { upstreams: ["10.203.19.2:53"] }
`,
  );
});

test("no flows: list yet: one is added, and a new identity gets its own egress rule", () => {
  const text = "version: 1\nzones:\n  a: { services: [a] }   # mine\n";
  const r = proposeChange(text, {
    ...none,
    flows: [aToB("2026-12-04T01:00:00.000Z", "2026-12-04T01:00:01.000Z", 4000)],
    egress: [{ identity: "a", destination: "pypi.org:443", count: 1 }],
  });
  assert.ok(r.text.startsWith("version: 1\nzones:\n  a: { services: [a] }"), r.text);
  assert.match(r.text, /flows:\n {2}# observed 2 connections, [^\n]+\n {2}- \{ from: a, to: b, ports: \[80\/tcp\] \}/);
  assert.match(r.text, /egress:\n[\s\S]*from: a[\s\S]*pypi\.org:443/);
});

test("additions that end several nested lists at once each land in their own list", () => {
  const text = "version: 1\nzones:\n  a: { services: [a] }   # mine\negress:\n  - from: b\n    mode: learn\n";
  const r = proposeChange(text, {
    ...none,
    flows: [aToB("F", "L", 3)],
    egress: [
      { identity: "a", destination: "pypi.org:443", count: 1 },
      { identity: "b", destination: "x.org:443", count: 1 },
    ],
  });
  assert.equal(
    r.text,
    `version: 1
zones:
  a: { services: [a] }   # mine
egress:
  - from: b
    mode: learn
    allow:
      # learned 1 request
      - "x.org:443"
  # proposed by corral policy suggest from what learn mode saw
  - from: a
    allow:
      # learned 1 request
      - "pypi.org:443"
flows:
  # observed 2 connections, F to L, e.g. 10.0.0.2:3 → 10.0.0.3:80/tcp
  - { from: a, to: b, ports: [80/tcp] }
`,
  );
});
