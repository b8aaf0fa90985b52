// corral policy suggest over real files: observed flows and learned egress become a diff of
// corral.yaml with evidence; --apply keeps every line the user wrote; nothing the floor forbids
// is proposed; a second run finds nothing left to add.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { FlowRecord } from "../engine/observed-flows.ts";
import { parsePolicy } from "../policy/load.ts";
import { runCli } from "../testing/cli.ts";

const POLICY = `version: 1
# Our stack, reviewed by hand.
zones:
  web: { services: [web] }     # the front door
  agents: { services: [api, worker], isolate: per-service, mode: observe }
  data: { services: [db] }
flows:
  - { from: web, to: api, ports: [8080/tcp] }   # declared
egress:
  - from: api
    allow:
      - api.openai.com:443   # the LLM
gate:
  state_dir: state
`;

const flow = (from: string, to: string, port: number, count: number, kind: "observe" | "drop" = "observe") => ({
  from,
  to,
  protocol: "tcp" as const,
  port,
  kind,
  count,
  first: "2026-12-04T01:00:00.000Z",
  last: "2026-12-04T02:00:00.000Z",
  example: { src: "10.231.1.5", dst: "10.231.2.3", srcPort: 40000 },
});

test("observed flows and learned egress become a reviewed change; --apply keeps the user's lines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-suggest-"));
  try {
    writeFileSync(join(dir, "corral.yaml"), POLICY);
    mkdirSync(join(dir, "state"));
    const record: FlowRecord = {
      version: 1,
      flows: [
        flow("worker", "db", 5432, 12),
        flow("worker", "api", 8000, 3),
        flow("web", "api", 8080, 9), // declared since: not proposed again
        flow("api", "(host)", 11434, 2),
        flow("web", "db", 5432, 4, "drop"), // refused by enforced zones: not proposed
      ],
      overflow: 0,
      unmapped: 0,
    };
    writeFileSync(join(dir, "state", "observed-flows.json"), JSON.stringify(record));
    writeFileSync(
      join(dir, "state", "learned.json"),
      JSON.stringify({
        api: { "api.anthropic.com:443": 7, "api.openai.com:443": 30 },
        worker: {
          "pypi.org:443": 2,
          "169.254.169.254:80": 5,
          "a.cdn.test:443": 1,
          "b.cdn.test:443": 1,
          "c.cdn.test:443": 1,
        },
      }),
    );

    writeFileSync(
      join(dir, "state", "learned-seen.json"),
      JSON.stringify({
        api: { "api.anthropic.com:443": [Date.parse("2026-12-04T01:10:00Z"), Date.parse("2026-12-04T01:50:00Z")] },
      }),
    );
    const diff = await runCli(["policy", "suggest"], { cwd: dir });
    assert.equal(diff.code, 0, diff.err);
    assert.match(diff.out, /^\+ {2}- \{ from: worker, to: db, ports: \[5432\/tcp\] \}$/m);
    assert.match(
      diff.out,
      /^\+ {2}# observed 12 connections, 2026-12-04T01:00:00.000Z to 2026-12-04T02:00:00.000Z, e\.g\. 10\.231\.1\.5:40000 → 10\.231\.2\.3:5432\/tcp$/m,
    );
    assert.match(diff.out, /^\+ {2}- \{ from: worker, to: api, ports: \[8000\/tcp\] \}$/m);
    assert.match(
      diff.out,
      /^\+ {2}- \{ from: api, to: host, ports: \[11434\/tcp\] \}$/m,
      "to the Docker host: a flow to 'host'",
    );
    assert.doesNotMatch(diff.out, /^\+.*from: web, to: (api|db)/m, "neither what is declared nor what was refused");
    assert.match(diff.out, /^\+ {6}- "api\.anthropic\.com:443"$/m);
    assert.match(
      diff.out,
      /^\+ {6}# learned 7 requests, 2026-12-04T01:10:00\.000Z to 2026-12-04T01:50:00\.000Z$/m,
      "egress evidence as flows have it: count, first and last seen",
    );
    assert.doesNotMatch(diff.out, /^\+.*api\.openai\.com/m, "already allowed");
    assert.match(diff.out, /"a\.cdn\.test:443"/, "names as learned: no wildcard unless asked");
    assert.doesNotMatch(diff.out, /169\.254/);
    assert.match(diff.err, /left out worker → 169\.254\.169\.254:80: the SSRF floor forbids it/);

    const folded = await runCli(["policy", "suggest", "--fold", "3"], { cwd: dir });
    assert.match(folded.out, /"\*\.cdn\.test:443"/, "--fold folds siblings when asked");

    const applied = await runCli(["policy", "suggest", "--apply"], { cwd: dir });
    assert.equal(applied.code, 0, applied.err);
    const after = readFileSync(join(dir, "corral.yaml"), "utf8");
    const kept = after.split("\n");
    let at = 0;
    for (const line of POLICY.split("\n")) {
      const i = kept.indexOf(line, at);
      assert.ok(i >= 0, `the user's line is kept as written: ${JSON.stringify(line)}`);
      at = i + 1;
    }
    const { policy } = parsePolicy(after, join(dir, "corral.yaml"));
    assert.ok(policy.flows.some((f) => f.from[0] === "worker" && f.to[0] === "db" && f.ports[0] === "5432/tcp"));
    assert.ok(policy.egress.find((e) => e.from[0] === "worker")?.allow.includes("pypi.org:443"));

    const again = await runCli(["policy", "suggest"], { cwd: dir });
    assert.equal(again.code, 1, "nothing left to add");
    assert.match(again.out, /nothing to add/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
