// The bad-policy corpus: every way a corral.yaml can be wrong that we know of, each asserting
// the message, the position (line:col) and the hint a user gets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PolicyError } from "./errors.ts";
import { parsePolicy } from "./load.ts";

interface Case {
  name: string;
  yaml: string;
  line: number;
  col: number;
  message: RegExp;
  hint?: RegExp;
}

const ZONES = `version: 1
zones:
  web: { services: [proxy, gui] }
  agents: { services: [celery] }
  data: { services: [postgres] }
`;

const CASES: Case[] = [
  {
    name: "not YAML",
    yaml: "version: 1\nzones: {web: [\n",
    line: 3,
    col: 1,
    message: /invalid YAML/,
    hint: /syntax|indent/,
  },
  {
    name: "tab indentation",
    yaml: "version: 1\nzones:\n\tweb: {services: [a]}\n",
    line: 3,
    col: 1,
    message: /invalid YAML/,
  },
  {
    name: "duplicate key",
    yaml: "version: 1\nproject: a\nproject: b\n",
    line: 3,
    col: 1,
    message: /invalid YAML.*unique/i,
    hint: /once per mapping/,
  },
  {
    name: "empty file",
    yaml: "",
    line: 1,
    col: 1,
    message: /expected a mapping with 'version: 1'/,
    hint: /version: 1/,
  },
  { name: "top-level list", yaml: "- version: 1\n", line: 1, col: 1, message: /expected a mapping/ },
  { name: "missing version", yaml: "project: x\n", line: 1, col: 1, message: /missing 'version'/ },
  { name: "wrong version", yaml: "version: 2\n", line: 1, col: 10, message: /version: expected one of 1/ },
  {
    name: "unknown top-level key",
    yaml: "version: 1\nzonez: {}\n",
    line: 2,
    col: 1,
    message: /unknown key 'zonez' in the top level/,
    hint: /did you mean 'zones'\?/,
  },
  {
    name: "unknown zone key",
    yaml: "version: 1\nzones:\n  web: { services: [a], isolat: shared }\n",
    line: 3,
    col: 25,
    message: /unknown key 'isolat' in zones\.web/,
    hint: /did you mean 'isolate'\?/,
  },
  {
    name: "bad isolate value",
    yaml: "version: 1\nzones:\n  web: { services: [a], isolate: per_service }\n",
    line: 3,
    col: 34,
    message: /expected one of "shared", "per-service"/,
    hint: /did you mean 'per-service'\?/,
  },
  {
    name: "zone without members",
    yaml: "version: 1\nzones:\n  web: {}\n",
    line: 3,
    col: 3,
    message: /zone 'web' has no members/,
    hint: /services .* labels/,
  },
  {
    name: "bad zone name",
    yaml: "version: 1\nzones:\n  'my zone': { services: [a] }\n",
    line: 3,
    col: 3,
    message: /'my zone' is not a valid name in zones/,
    hint: /letters, digits/,
  },
  {
    name: "service in two zones",
    yaml: "version: 1\nzones:\n  a: { services: [x] }\n  b: { services: [x] }\n",
    line: 4,
    col: 19,
    message: /'x' is in two zones \('a' and 'b'\)/,
    hint: /exactly one zone/,
  },
  {
    name: "flow from unknown zone",
    yaml: `${ZONES}flows:\n  - { from: agent, to: data, ports: [5432/tcp] }\n`,
    line: 7,
    col: 13,
    message: /unknown zone, service or identity 'agent' in flows\[0\]\.from/,
    hint: /did you mean 'agents'\?/,
  },
  {
    name: "flow to undefined zone",
    yaml: `${ZONES}flows:\n  - { from: agents, to: [data, cache], ports: [6379/tcp] }\n`,
    line: 7,
    col: 32,
    message: /unknown zone or service 'cache' in flows\[0\]\.to/,
  },
  {
    name: "flow to an identity",
    yaml: `${ZONES}identities:\n  ci: { token_env: CI_TOKEN }\nflows:\n  - { from: web, to: ci, ports: [80/tcp] }\n`,
    line: 9,
    col: 22,
    message: /'ci' is an identity/,
    hint: /zone or a service/,
  },
  {
    name: "flow without ports",
    yaml: `${ZONES}flows:\n  - { from: agents, to: data }\n`,
    line: 7,
    col: 5,
    message: /missing 'ports' in flows\.0/,
    hint: /add ports/,
  },
  {
    name: "malformed port",
    yaml: `${ZONES}flows:\n  - { from: agents, to: data, ports: [5432/tpc] }\n`,
    line: 7,
    col: 39,
    message: /a port like 5432\/tcp/,
  },
  {
    name: "port out of range",
    yaml: `${ZONES}flows:\n  - { from: agents, to: data, ports: [70000/tcp] }\n`,
    line: 7,
    col: 39,
    message: /port '70000\/tcp' is out of range/,
    hint: /1-65535/,
  },
  {
    name: "inverted port range",
    yaml: `${ZONES}flows:\n  - { from: agents, to: data, ports: [9000-8000/tcp] }\n`,
    line: 7,
    col: 39,
    message: /out of range/,
    hint: /low-high/,
  },
  {
    name: "publish unknown service",
    yaml: `${ZONES}publish:\n  - { service: proxi, port: 80/tcp }\n`,
    line: 7,
    col: 16,
    message: /unknown service 'proxi'/,
    hint: /did you mean 'proxy'\?/,
  },
  {
    name: "publish bad host",
    yaml: `${ZONES}publish:\n  - { service: proxy, port: 80/tcp, host: localhost:80 }\n`,
    line: 7,
    col: 43,
    message: /'localhost:80' is not a host address/,
    hint: /127\.0\.0\.1/,
  },
  {
    name: "egress wildcard *",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: ["*"] }\n`,
    line: 7,
    col: 29,
    message: /'\*' allows every destination/,
    hint: /mode: learn/,
  },
  {
    name: "egress wildcard *.com",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: ["*.com:443"] }\n`,
    line: 7,
    col: 29,
    message: /'\*\.com:443' allows a whole public suffix/,
    hint: /\*\.example\.com/,
  },
  {
    name: "egress wildcard *.co.uk",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: ["**.co.uk"] }\n`,
    line: 7,
    col: 29,
    message: /allows a whole public suffix/,
  },
  {
    name: "egress 0.0.0.0/0",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: ["0.0.0.0/0:443"] }\n`,
    line: 7,
    col: 29,
    message: /allows every address/,
  },
  {
    name: "egress mid-label wildcard",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: ["api*.openai.com"] }\n`,
    line: 7,
    col: 29,
    message: /'\*' may only stand as the whole first label/,
  },
  {
    name: "egress bad CIDR",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: ["10.0.0.0/33"] }\n`,
    line: 7,
    col: 29,
    message: /not a valid CIDR/,
  },
  {
    name: "egress bad port",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: ["api.openai.com:99999"] }\n`,
    line: 7,
    col: 29,
    message: /bad port in destination/,
  },
  {
    name: "egress bad mode",
    yaml: `${ZONES}egress:\n  - { from: agents, mode: enforcing }\n`,
    line: 7,
    col: 27,
    message: /expected one of "enforce", "report", "learn"/,
    hint: /did you mean 'enforce'\?/,
  },
  {
    name: "egress unknown principal",
    yaml: `${ZONES}egress:\n  - { from: agnets, allow: [pypi.org] }\n`,
    line: 7,
    col: 13,
    message: /unknown zone, service or identity 'agnets'/,
    hint: /did you mean 'agents'\?/,
  },
  {
    name: "two egress rules for one zone",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: [pypi.org] }\n  - { from: agents, allow: [github.com] }\n`,
    line: 8,
    col: 13,
    message: /'agents' already has an egress rule \(egress\[0\]\)/,
    hint: /merge/,
  },
  {
    name: "approval ask in report mode",
    yaml: `${ZONES}egress:\n  - { from: agents, allow: [pypi.org], mode: report, approval: ask }\n`,
    line: 7,
    col: 64,
    message: /approval: ask needs mode: enforce/,
  },
  {
    name: "identity that cannot be recognised",
    yaml: `${ZONES}identities:\n  ci: {}\n`,
    line: 7,
    col: 3,
    message: /identity 'ci' cannot be recognised/,
    hint: /token_env/,
  },
  {
    name: "overlapping identity CIDRs",
    yaml: `${ZONES}identities:\n  a: { source: [10.1.0.0/16] }\n  b: { source: [10.1.2.0/24] }\n`,
    line: 8,
    col: 17,
    message: /10\.1\.2\.0\/24 \(identity 'b'\) overlaps 10\.1\.0\.0\/16 \(identity 'a'\)/,
    hint: /own address range/,
  },
  {
    name: "overlapping zone subnets",
    yaml: "version: 1\nzones:\n  a: { services: [x], subnet: 10.9.0.0/16 }\n  b: { services: [y], subnet: 10.9.9.0/24 }\n",
    line: 4,
    col: 31,
    message: /overlaps 10\.9\.0\.0\/16 \(zone 'a'\)/,
  },
  {
    name: "bad zone subnet",
    yaml: "version: 1\nzones:\n  a: { services: [x], subnet: 10.9.0.0 }\n",
    line: 3,
    col: 31,
    message: /'10\.9\.0\.0' is not a CIDR/,
  },
  {
    name: "bad identity source",
    yaml: `${ZONES}identities:\n  a: { source: [office] }\n`,
    line: 7,
    col: 17,
    message: /'office' is not a CIDR/,
  },
  {
    name: "identity named like a zone",
    yaml: `${ZONES}identities:\n  agents: { token_env: T }\n`,
    line: 7,
    col: 3,
    message: /identity 'agents' has the same name as a zone/,
  },
  {
    name: "bad token_env",
    yaml: `${ZONES}identities:\n  a: { token_env: "my token" }\n`,
    line: 7,
    col: 19,
    message: /an environment variable name/,
  },
  {
    name: "bad dns upstream",
    yaml: "version: 1\ndns:\n  upstreams: [dns.google]\n",
    line: 3,
    col: 15,
    message: /dns\.upstreams\.0: expected an IP address and port, got string "dns\.google"/,
    hint: /1\.1\.1\.1:53/,
  },
  {
    name: "bad deny_answer",
    yaml: "version: 1\ndns:\n  deny_answer: servfail\n",
    line: 3,
    col: 16,
    message: /expected one of "nxdomain", "refused"/,
  },
  {
    name: "bad gate listen",
    yaml: 'version: 1\ngate:\n  listen: { proxy: "3128" }\n',
    line: 3,
    col: 20,
    message: /gate\.listen\.proxy: expected an IP address and port, got string "3128"/,
  },
  {
    name: "bad sandbox network",
    yaml: "version: 1\nsandbox:\n  profiles:\n    p: { network: host }\n",
    line: 4,
    col: 19,
    message: /expected one of "none", "gate"/,
  },
  {
    name: "bad sandbox memory",
    yaml: "version: 1\nsandbox:\n  profiles:\n    p: { limits: { memory: lots } }\n",
    line: 4,
    col: 28,
    message: /a size like 512Mi/,
  },
  {
    name: "bad sandbox wall",
    yaml: "version: 1\nsandbox:\n  profiles:\n    p: { limits: { wall: 10 minutes } }\n",
    line: 4,
    col: 26,
    message: /a duration like 60s/,
  },
  {
    name: "unknown sandbox key",
    yaml: "version: 1\nsandbox:\n  profiles:\n    p: { netwrok: none }\n",
    line: 4,
    col: 10,
    message: /unknown key 'netwrok'/,
    hint: /did you mean 'network'\?/,
  },
  {
    name: "audit key inside log dir",
    yaml: "version: 1\naudit:\n  path: /var/lib/corral/audit\n  checkpoint: { key: /var/lib/corral/audit/key }\n",
    line: 4,
    col: 22,
    message: /checkpoint key is inside the audit log directory/,
    hint: /outside the log directory/,
  },
  {
    name: "audit without path",
    yaml: "version: 1\naudit:\n  fsync: record\n",
    line: 2,
    col: 1,
    message: /missing 'path' in audit/,
  },
  {
    name: "credential for an unknown zone",
    yaml: `${ZONES}credentials:\n  openai:\n    value: { env: OPENAI_API_KEY }\n    for: agnets\n    to: { host: api.openai.com }\n`,
    line: 9,
    col: 10,
    message: /unknown zone, service or identity 'agnets'/,
    hint: /agents/,
  },
  {
    name: "credential sent to a wildcard",
    yaml: `${ZONES}credentials:\n  openai:\n    value: { env: OPENAI_API_KEY }\n    for: agents\n    to: { host: "*.openai.com" }\n`,
    line: 10,
    col: 17,
    message: /is not a host name or address/,
  },
  {
    name: "credential read from a relative file",
    yaml: `${ZONES}credentials:\n  openai:\n    value: { file: secrets/openai }\n    for: agents\n    to: { host: api.openai.com }\n`,
    line: 8,
    col: 20,
    message: /'secrets\/openai' is a relative path/,
    hint: /absolute path/,
  },
  {
    name: "request rule without a path",
    yaml: `${ZONES}requests:\n  - from: agents\n    host: api.openai.com\n    allow: [POST]\n`,
    line: 9,
    col: 13,
    message: /a method and a path prefix/,
  },
  {
    name: "wrong type for zones",
    yaml: "version: 1\nzones: [web, data]\n",
    line: 2,
    col: 8,
    message: /zones: expected record, got a list/,
  },
];

test("the bad-policy corpus has at least 25 cases", () => {
  assert.ok(CASES.length >= 25, `only ${CASES.length} cases`);
});

for (const c of CASES) {
  test(`bad policy: ${c.name}`, () => {
    let error: unknown;
    try {
      parsePolicy(c.yaml, "corral.yaml", "/srv/project");
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${String(error)}`);
    const first = error.problems[0]!;
    assert.match(first.message, c.message);
    assert.deepEqual(
      { line: first.line, col: first.col },
      { line: c.line, col: c.col },
      `position of: ${first.message}`,
    );
    assert.equal(first.file, "corral.yaml");
    if (c.hint) assert.match(first.hint ?? "", c.hint);
    assert.match(error.message, /^corral\.yaml:\d+:\d+: error: /);
  });
}
