// Observe before enforce on the real engine: a stand-in stack whose worker makes calls its
// compose file does not reveal (the API on an undeclared port, the database) runs with its zone
// in observe mode; corral observe records those calls by service, corral policy suggest proposes
// exactly them with their evidence, and after --apply and enforce, verify --live is green and the
// same calls still succeed while an undeclared one is refused.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ commands: ["dockerd", "docker", "busybox", "tar", "nft", "ip", "nsenter", "ulogd"] });

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { readDeployment } from "../model/load.ts";
import { loadPolicy } from "../policy/index.ts";
import { runCli } from "../testing/cli.ts";
import { type Engine, startEngine, startUpstream, type Upstream } from "../testing/engine.ts";
import { buildStandinImage, NODE_BASE, standinOverride } from "../testing/standin.ts";
import { startUlogd, type UlogdProcess } from "./nflog.ts";
import type { FlowRecord } from "./observed-flows.ts";
import type { LiveResult } from "./verify-live.ts";

const STANDIN = "corral-test/standin:1";
/** The policy and the stack as every step names them: the shipped file and the stand-ins. */
const STACK_ARGS = ["--policy", "corral.yaml", "-f", "docker-compose.yml", "-f", "standin.yml"];

const COMPOSE = `name: observed
services:
  web: { image: example/web, expose: ["80"] }
  api: { image: example/api, expose: ["8080", "9000"] }
  worker: { image: example/worker }
  db: { image: example/db, expose: ["5432"] }
`;

const POLICY = `version: 1
# A first policy: the hidden calls of the worker are not in it yet.
zones:
  web: { services: [web] }
  agents: { services: [api, worker], isolate: per-service, mode: observe }   # learning
  data: { services: [db] }
flows:
  - { from: web, to: api, ports: [8080/tcp] }
egress:
  - { from: worker, mode: learn }   # what does it call out there?
# The test's upstream namespace stands in for the internet (its address is private).
dns: { upstreams: ["10.203.19.2:53"], timeout: 1s, retries: 1 }
floor: { allow_ranges: [10.203.19.2/32] }
`;

let engine: Engine | undefined;
let ulogd: UlogdProcess | undefined;
let upstream: Upstream | undefined;
const dir = mkdtempSync(join(tmpdir(), "corral-observe-engine-"));

before(async () => {
  if (skip) return;
  engine = await startEngine();
  engine.env.CORRAL_GATE_BASE_IMAGE = NODE_BASE;
  await buildStandinImage(engine, dir, STANDIN);
  upstream = await startUpstream(engine, 19);
});

after(async () => {
  await ulogd?.stop();
  await upstream?.stop();
  if (engine)
    await engine
      .docker(["compose", "--project-directory", dir, ...files(), "down", "-v", "-t", "1"])
      .catch(() => undefined);
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function files(): string[] {
  return [
    "-f",
    join(dir, "docker-compose.yml"),
    "-f",
    join(dir, "standin.yml"),
    "-f",
    join(dir, "out/compose.corral.yml"),
  ];
}

test("observe, suggest, apply, enforce: the hidden calls are found, proposed exactly, and keep working", {
  skip,
  timeout: 900_000,
}, async () => {
  const e = engine!;
  const cli = (argv: string[]) => runCli(argv, { cwd: dir, env: { ...e.env } });
  const must = async (argv: string[]) => {
    const r = await cli(argv);
    assert.equal(r.code, 0, `corral ${argv.join(" ")} → ${r.code}\n${r.out.slice(-3000)}\n${r.err.slice(-3000)}`);
    return r;
  };
  const compose = (args: string[]) =>
    e.docker(["compose", "--project-directory", dir, ...files(), ...args], { timeoutMs: 180_000 });
  /** A TCP connect from inside a service's container, by the service name Docker's DNS answers. */
  const call = async (from: string, to: string, port: number): Promise<boolean> => {
    const script = `const s=require("net").connect(${port},${JSON.stringify(to)});s.setTimeout(3000);s.on("connect",()=>{console.log("open");s.destroy()});s.on("timeout",()=>{console.log("closed");s.destroy()});s.on("error",()=>console.log("closed"))`;
    const out = await compose(["exec", "-T", from, "node", "-e", script]);
    return out.trim() === "open";
  };
  /** A plain request through the HTTP_PROXY the overlay gave the service: the status line. */
  const viaGate = async (from: string, url: string): Promise<string> => {
    const script =
      `const u = new URL(process.env.HTTP_PROXY);` +
      `const s = require("net").connect(Number(u.port), u.hostname, () => s.write("GET ${url} HTTP/1.1\\r\\nHost: " + new URL(${JSON.stringify(url)}).host + "\\r\\nConnection: close\\r\\n\\r\\n"));` +
      `let got = ""; s.on("data", (d) => { got += d; }); s.on("end", () => { console.log(got.split("\\r\\n")[0]); process.exit(0); });` +
      `s.on("error", (e) => { console.log("error=" + e.code); process.exit(0); });`;
    return (await compose(["exec", "-T", from, "node", "-e", script])).trim();
  };
  const up = async () => {
    const { policy } = await loadPolicy(join(dir, "corral.yaml"));
    const override = standinOverride(readDeployment([join(dir, "docker-compose.yml")], { env: {} }), policy);
    writeFileSync(join(dir, "standin.yml"), override.yaml);
    for (const image of override.images) await e.docker(["tag", STANDIN, image]);
    await must(["compile", "--policy", "corral.yaml", "-f", "docker-compose.yml", "-o", "out", "--target", "compose"]);
    // The gate is recreated too: it reads the policy at start.
    await compose(["up", "-d", "--wait", "--force-recreate"]);
    await must(["enforce", ...STACK_ARGS, "--once", "--netns", e.netns]);
  };

  writeFileSync(join(dir, "docker-compose.yml"), COMPOSE);
  writeFileSync(join(dir, "corral.yaml"), POLICY);
  mkdirSync(join(dir, "state"));
  ulogd = await startUlogd({ group: 1, dir: join(dir, "state"), netns: e.netns });
  await up();

  // In observe mode the hidden calls work, and a declared one too.
  assert.equal(await call("worker", "api", 9000), true, "worker → api on a port nobody declared");
  assert.equal(await call("worker", "db", 5432), true, "worker → db");
  assert.equal(await call("web", "api", 8080), true, "the declared flow");
  // An external name the compose file says nothing of, through the gate in learn mode.
  assert.match(await viaGate("worker", "http://api.external.test/"), /^HTTP\/1\.1 200/, "learn mode lets it through");

  // The kernel hands NFLOG lines to ulogd2 in batches, flushed within a second; the gate writes
  // what it learned within a second too (corral observe mirrors it from the gate's volume).
  await new Promise((r) => setTimeout(r, 1500));
  for (
    let i = 0;
    i < 50 && (readFileSync(ulogd.jsonFile, { flag: "a+" }).toString().match(/\n/g)?.length ?? 0) < 2;
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  const observe = await must(["observe", ...STACK_ARGS, "--state", "state", "--ulogd-json", ulogd.jsonFile, "--once"]);
  assert.match(observe.err, /observing api, worker/);
  const record = JSON.parse(readFileSync(join(dir, "state/observed-flows.json"), "utf8")) as FlowRecord;
  const seen = record.flows.filter((f) => f.kind === "observe").map((f) => `${f.from}>${f.to}:${f.port}/${f.protocol}`);
  const why = async () => {
    const { execFileSync } = await import("node:child_process");
    const nft = execFileSync("ip", ["netns", "exec", e.netns, "nft", "list", "table", "inet", "corral"]).toString();
    const lg = readFileSync(join(dir, "state/ulogd.log"), "utf8").slice(-1500);
    const sys = execFileSync("ip", [
      "netns",
      "exec",
      e.netns,
      "sysctl",
      "net.bridge.bridge-nf-call-iptables",
    ]).toString();
    return `${JSON.stringify(record)}\n${nft}\n${lg}\n${sys}`;
  };
  if (seen.length !== 2) assert.fail(await why());
  assert.deepEqual(seen.sort(), ["worker>api:9000/tcp", "worker>db:5432/tcp"], JSON.stringify(record));
  const hidden = record.flows.find((f) => f.to === "db")!;
  assert.deepEqual(
    [hidden.example.srcReplica, hidden.example.dstReplica],
    ["worker", "db"],
    "addresses mapped back to replicas too",
  );

  const suggest = await must(["policy", "suggest", "--policy", "corral.yaml", "--state", "state"]);
  const added = suggest.out
    .split("\n")
    .filter((l) => l.startsWith("+ ") || (l.startsWith("+") && !l.startsWith("+++")));
  assert.deepEqual(
    added.filter((l) => /- \{ from: \w+, to: /.test(l)),
    ["+  - { from: worker, to: api, ports: [9000/tcp] }", "+  - { from: worker, to: db, ports: [5432/tcp] }"],
    suggest.out,
  );
  assert.ok(
    added.some((l) => /# observed 1 connection, .* → .*:9000\/tcp/.test(l)),
    "with its evidence",
  );
  assert.ok(
    added.includes(
      '+  - { from: worker, mode: learn, allow: ["api.external.test:80"] }   # what does it call out there?',
    ),
    `the external name, under the worker's egress rule: ${suggest.out}`,
  );
  assert.ok(
    added.some((l) => /# "api\.external\.test:80": learned 1 request, \S+ to \S+/.test(l)),
    "egress with its evidence",
  );

  await must(["policy", "suggest", "--policy", "corral.yaml", "--state", "state", "--apply"]);
  // The reviewer enforces the zone now that its flows are known.
  writeFileSync(
    join(dir, "corral.yaml"),
    readFileSync(join(dir, "corral.yaml"), "utf8")
      .replace("mode: observe", "mode: enforce")
      .replace("mode: learn", "mode: enforce"),
  );
  await up();

  const verify = await cli(["verify", "--live", ...STACK_ARGS, "--netns", e.netns, "--no-outside", "--format", "json"]);
  const result = JSON.parse(verify.out) as LiveResult;
  assert.deepEqual(
    result.cells.filter((c) => c.observed !== c.expected),
    [],
    "every cell as the policy says",
  );
  assert.equal(verify.code, 0, verify.err);
  assert.equal(await call("worker", "api", 9000), true, "the proposed flow works enforced");
  assert.equal(await call("worker", "db", 5432), true, "the proposed flow works enforced");
  assert.equal(await call("worker", "web", 80), false, "what was never seen stays refused");
  assert.match(await viaGate("worker", "http://api.external.test/"), /^HTTP\/1\.1 200/, "the learned name, enforced");
  assert.match(await viaGate("worker", "http://other.external.test/"), /^HTTP\/1\.1 403/, "an unseen name is refused");
});
