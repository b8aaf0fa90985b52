// `corral gate --workers 2`: a run identity minted on worker 1's admin API is honoured by every
// worker (the kernel spreads the run's connections over both), and decisions made on worker 2
// reach the audit log that worker 1 holds. Real processes, loopback only.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as dns from "dns-packet";
import { readRecords } from "../audit/index.ts";
import { main } from "../cli/main.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { waitFor } from "../testing/wait.ts";
import { dnsQuery, freePort, type Origin, rawRequest, startDnsUpstream, startOrigin } from "./testkit.ts";

const query = (name: string): dns.Packet => ({
  type: "query",
  id: 7,
  flags: dns.RECURSION_DESIRED,
  questions: [{ name, type: "A", class: "IN" }],
});

const skip = privilegedSkip({ root: false });
const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("gate workers share run identities and the audit log", { skip, timeout: 60_000 }, () => {
  let dir: string;
  let origin: Origin;
  let upstream: Awaited<ReturnType<typeof startDnsUpstream>>;
  let gate: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "corral-cluster-"));
    origin = await startOrigin("127.0.0.2");
    upstream = await startDnsUpstream((name, type) =>
      type === "A" && name.endsWith(".test") ? { A: ["127.0.0.2"], ttl: 60 } : { ttl: 60 },
    );
  });

  after(async () => {
    setTimeout(() => process.exit(), 10_000).unref();
    if (gate && gate.exitCode === null) {
      gate.kill("SIGTERM");
      await new Promise((r) => gate?.once("exit", r));
    }
    await Promise.all([origin?.close(), upstream?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("every worker knows the run's token; every worker's decisions are audited", async () => {
    const key = join(dir, "keys", "audit.key");
    mkdirSync(join(dir, "keys"), { mode: 0o700 });
    assert.equal(
      await main(["audit", "keygen", "--key", key], { stdout: new PassThrough(), stderr: new PassThrough() }),
      0,
    );
    const [pp, dp, ap] = [await freePort(), await freePort(), await freePort()];
    const P = origin.port;
    const policyFile = join(dir, "corral.yaml");
    writeFileSync(
      policyFile,
      `version: 1
identities:
  plugin-runs: { token_env: PLUGIN_TOKEN }
egress:
  - from: plugin-runs
    allow: ["allowed.test:${P}"]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 500ms, retries: 1 }
gate:
  listen: { proxy: "127.0.0.1:${pp}", dns: "127.0.0.1:${dp}", admin: "127.0.0.1:${ap}" }
  state_dir: ${JSON.stringify(join(dir, "state"))}
audit:
  path: audit
  checkpoint: { key: ${JSON.stringify(key)} }
  aggregate_allowed: true
`,
    );
    let stderr = "";
    gate = spawn(
      process.execPath,
      [MAIN, "gate", "--policy", policyFile, "--workers", "2", "--log", join(dir, "gate.log")],
      {
        env: { PATH: process.env.PATH ?? "", PLUGIN_TOKEN: "shared" },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    gate.stderr?.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const base = `http://127.0.0.1:${ap}`;
    for (let i = 0; ; i++) {
      if ((await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200) break;
      if (i > 150 || gate.exitCode !== null) assert.fail(`gate did not start: ${stderr}`);
      await sleep(100);
    }
    const logLines = () =>
      (existsSync(join(dir, "gate.log")) ? readFileSync(join(dir, "gate.log"), "utf8") : "").split("\n");
    const logged = (action: string) => logLines().filter((l) => l.includes(`"event.action":"${action}"`)).length;
    // Each worker logs gate-start once its listeners are bound.
    await waitFor("both workers to listen", () => logged("gate-start") === 2);
    const token = readFileSync(join(dir, "state", "admin.token"), "utf8").trim();
    const minted = await fetch(`${base}/identities/ephemeral`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ parent: "plugin-runs", run: "cluster-run", ttlMs: 60_000 }),
    });
    assert.equal(minted.status, 201);
    const runToken = ((await minted.json()) as { token: string }).token;
    await waitFor("the other worker to adopt the run", () => logged("run-identity-adopted") === 1);
    const get = (host: string) =>
      `GET http://${host}:${P}/ HTTP/1.1\r\nHost: ${host}:${P}\r\nProxy-Authorization: Bearer ${runToken}\r\nConnection: close\r\n\r\n`;
    const N = 24;
    const allowed = await Promise.all(Array.from({ length: N }, () => rawRequest(pp, get("allowed.test"))));
    assert.deepEqual(
      allowed.map((r) => r.status),
      Array(N).fill(200),
      "each connection, whichever worker took it, knew the run",
    );
    for (let i = 0; i < N; i++) assert.equal((await rawRequest(pp, get(`denied${i}.test`))).status, 403);
    // DNS: one worker serves it (--dns-workers defaults to 1), and it answers (NXDOMAIN: this
    // client's address is no identity; plugin-runs is known by token only).
    for (let i = 0; i < 3; i++) assert.equal((await dnsQuery(dp, query("allowed.test")))?.rcode, "NXDOMAIN");
    gate.kill("SIGTERM");
    await new Promise((r) => gate?.once("exit", r));
    const starts = readFileSync(join(dir, "gate.log"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"gate-start"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(starts.length, 2, "two workers started");
    assert.equal(starts.filter((s) => s["corral.dns.transport"] !== undefined).length, 1, "one of them serves DNS");

    const records: { kind: string; data: Record<string, unknown> }[] = [];
    for await (const r of readRecords(join(dir, "audit"))) records.push(r);
    const denials = records.filter(
      (r) => r.kind === "gate.decision" && r.data.decision === "deny" && r.data.protocol !== "dns",
    );
    assert.equal(denials.length, N, "denials from both workers reach worker 1's log");
    assert.ok(denials.every((r) => r.data.run === "cluster-run"));
    const out = new PassThrough();
    let text = "";
    out.on("data", (b: Buffer) => {
      text += b.toString();
    });
    assert.equal(
      await main(["audit", "verify", "--dir", join(dir, "audit"), "--key", `${key}.pub`], { stdout: out, stderr: out }),
      0,
      text,
    );
  });
});
