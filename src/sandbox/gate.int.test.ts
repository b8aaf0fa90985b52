// network: gate — the sandbox's only way out is the gate, reached through the run's unix socket
// and carrying the run's token. Tested twice: against a tiny recording proxy (exact headers),
// and end to end through `corral run` against the real gate started as its own process.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { main } from "../cli/main.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { removeCgroupParent } from "./cgroup.ts";
import { run as runSandbox } from "./run.ts";
import type { RunReport } from "./types.ts";

const skip = privilegedSkip({ commands: ["bwrap", "cc", "python3"] });
const PY = "/usr/bin/python3";
const CGROUP_PARENT = `corral-gate-test-${process.pid}`;
const run = (o: Parameters<typeof runSandbox>[0]) => runSandbox({ cgroupParent: CGROUP_PARENT, ...o });
const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

// Fetches through the proxy explicitly (NO_PROXY lists loopback, which the test targets), and
// tries one lookup that bypasses the proxy.
const CLIENT = `
import json, socket, sys, urllib.request
out = {}
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": "http://127.0.0.1:3128"}))
for key, url in (("allowed", sys.argv[1]), ("denied", sys.argv[2])):
    req = urllib.request.Request(url, headers={"Proxy-Authorization": "Bearer forged-by-sandbox"})
    try:
        r = opener.open(req, timeout=10)
        out[key] = [r.status, r.read().decode()]
    except urllib.error.HTTPError as e:
        out[key] = [e.code, ""]
    except Exception as e:
        out[key] = [0, repr(e)]
try:
    socket.getaddrinfo("direct-bypass.example", 443)
    out["dns"] = "resolved"
except OSError as e:
    out["dns"] = str(e)
json.dump(out, open(sys.argv[3], "w")) if len(sys.argv) > 3 else print(json.dumps(out))
`;

async function freePort(host = "127.0.0.1"): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function gateProfile(read: string[] = []) {
  return {
    network: "gate" as const,
    filesystem: { read, write: [], deny: [] },
    limits: { wall: "30s" },
    syscalls: { allow: [], deny: [] },
    env: [],
  };
}

describe("network: gate", { skip }, () => {
  after(() => removeCgroupParent(CGROUP_PARENT));
  test("recording proxy: requests carry the run's token, never the sandbox's; bypass lookups reported", async () => {
    const seen: { url: string; auth: string | undefined; run: string | undefined }[] = [];
    const proxy: HttpServer = createHttpServer((req, res) => {
      seen.push({
        url: req.url ?? "",
        auth: req.headers["proxy-authorization"],
        run: req.headers["x-corral-run"] as string | undefined,
      });
      if (req.url === "http://allowed.test/") res.end("hello");
      else res.writeHead(403).end();
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    const records: { kind: string; actor: string; data: Record<string, unknown> }[] = [];
    const minted: string[] = [];
    const released: string[] = [];
    try {
      const port = (proxy.address() as { port: number }).port;
      const r = await run({
        audit: { record: (kind, actor, data) => void records.push({ kind, actor, data }) },
        command: [PY, "-c", CLIENT, "http://allowed.test/", "http://denied.test/"],
        profileValue: gateProfile(),
        cwd: tmpdir(),
        env: { HOME: tmpdir() },
        gate: {
          proxy: { host: "127.0.0.1", port },
          mintToken: async (runId) => {
            minted.push(runId);
            return { token: "run-token-1", release: async () => void released.push(runId) };
          },
        },
        stdio: "pipe",
      });
      assert.equal(r.exitCode, 0, r.stderr);
      const out = JSON.parse(r.stdout ?? "{}") as Record<string, unknown>;
      assert.deepEqual(out.allowed, [200, "hello"]);
      assert.deepEqual(out.denied, [403, ""]);
      assert.notEqual(out.dns, "resolved");
      assert.deepEqual(
        seen.map((s) => s.auth),
        ["Bearer run-token-1", "Bearer run-token-1"],
      );
      assert.deepEqual(r.deniedEgress, [{ kind: "dns", name: "direct-bypass.example" }]);
      assert.deepEqual(
        r.gateRequests.map((g) => g.status),
        [200, 403],
      );
      // The run record names the run and carries what the report says.
      assert.deepEqual(
        records.map((x) => [x.kind, x.actor]),
        [
          ["sandbox.start", `run:${r.id}`],
          ["sandbox.run", `run:${r.id}`],
        ],
      );
      // ...and, for the audit, also the requests the gate refused.
      assert.deepEqual(records[1]?.data.deniedEgress, [
        ...r.deniedEgress,
        { kind: "http", name: "http://denied.test/", method: "GET", status: 403 },
      ]);
      // One token per run, released afterwards; the gate also sees the run id.
      assert.deepEqual(minted, [r.id]);
      assert.deepEqual(released, [r.id]);
      assert.deepEqual(
        seen.map((x) => x.run),
        [r.id, r.id],
      );
    } finally {
      proxy.close();
    }
  });

  describe("through the real gate (corral gate, reached only by its address)", () => {
    let tmp = "";
    let gate: ChildProcess | undefined;
    const origins: HttpServer[] = [];
    let allowedUrl = "";
    let deniedUrl = "";
    let logFile = "";
    let policyFile = "";
    let auditKey = "";
    let runId = "";

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), "corral-gate-run-"));
      const mk = async (): Promise<number> => {
        const s = createHttpServer((_req, res) => res.end("origin says hi"));
        origins.push(s);
        await new Promise<void>((r) => s.listen(0, "127.0.0.2", () => r()));
        return (s.address() as { port: number }).port;
      };
      const allowed = await mk();
      const denied = await mk();
      allowedUrl = `http://127.0.0.2:${allowed}/`;
      deniedUrl = `http://127.0.0.2:${denied}/`;
      const [proxy, dns, admin, upstream] = [await freePort(), await freePort(), await freePort(), await freePort()];
      logFile = join(tmp, "gate.log");
      policyFile = join(tmp, "corral.yaml");
      auditKey = join(tmp, "keys", "audit.key");
      mkdirSync(join(tmp, "keys"), { mode: 0o700 });
      assert.equal(
        await main(["audit", "keygen", "--key", auditKey], { stdout: new PassThrough(), stderr: new PassThrough() }),
        0,
      );
      writeFileSync(
        policyFile,
        `version: 1
identities:
  plugin-runs: { token_env: CORRAL_PLUGIN_TOKEN }
egress:
  - from: plugin-runs
    allow: ["127.0.0.2:${allowed}"]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${upstream}"], timeout: 500ms, retries: 0 }
gate:
  listen: { proxy: "127.0.0.1:${proxy}", dns: "127.0.0.1:${dns}", admin: "127.0.0.1:${admin}" }
  state_dir: ${JSON.stringify(join(tmp, "state"))}
audit:
  path: audit
  checkpoint: { key: ${JSON.stringify(auditKey)} }
sandbox:
  profiles:
    plugin:
      network: gate
      limits: { memory: 256Mi, pids: 64, wall: 30s }
`,
      );
      gate = spawn(process.execPath, [MAIN, "gate", "--policy", policyFile, "--log", logFile, "--no-watch"], {
        env: { ...process.env, CORRAL_PLUGIN_TOKEN: "plugin-token-xyz" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      gate.stderr?.on("data", (b: Buffer) => {
        stderr += b.toString();
      });
      // Ready is what /readyz says: the admin API is bound last, after the proxy and DNS.
      for (let i = 0; ; i++) {
        const up = await fetch(`http://127.0.0.1:${admin}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) break;
        if (i > 100 || gate.exitCode !== null) throw new Error(`gate did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    after(async () => {
      gate?.kill("SIGTERM");
      if (gate && gate.exitCode === null) await new Promise((r) => gate?.once("exit", r));
      for (const s of origins) s.close();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    test("corral run gets its own token: allowed works, denied fails, the gate logs both with identity and run", async () => {
      const stderr = new PassThrough();
      let err = "";
      stderr.on("data", (b: Buffer) => {
        err += b.toString();
      });
      const result = join(tmp, "result.json");
      const code = await main(
        [
          "run",
          "--policy",
          policyFile,
          "--profile",
          "plugin",
          "--format",
          "json",
          "--",
          PY,
          "-c",
          CLIENT,
          allowedUrl,
          deniedUrl,
          result,
        ],
        {
          stdout: new PassThrough(),
          stderr,
          env: {
            PATH: process.env.PATH,
            HOME: tmp,
            // No shared token: the identity (the first with token_env) comes from a token the
            // gate mints for this run, found via the admin token in the gate's state_dir.
            CORRAL_CGROUP_PARENT: CGROUP_PARENT,
          },
          cwd: tmp,
          color: false,
        },
      );
      assert.equal(code, 0, err);
      const out = JSON.parse(readFileSync(result, "utf8")) as Record<string, [number, string]>;
      assert.deepEqual(out.allowed, [200, "origin says hi"]);
      assert.equal(out.denied?.[0], 403);
      const report = JSON.parse(err) as RunReport;
      assert.deepEqual(report.deniedEgress, [{ kind: "dns", name: "direct-bypass.example" }]);
      // pino writes asynchronously: give the log a moment.
      let lines: Record<string, unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        lines = readFileSync(logFile, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((l) => l["corral.verdict"] !== undefined);
        if (lines.length >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const port = (u: string) => Number(new URL(u).port);
      const allowLine = lines.find((l) => l["destination.port"] === port(allowedUrl));
      const denyLine = lines.find((l) => l["destination.port"] === port(deniedUrl));
      assert.equal(allowLine?.["corral.identity"], "plugin-runs", JSON.stringify(lines));
      assert.equal(allowLine?.["corral.verdict"], "allow");
      assert.equal(denyLine?.["corral.identity"], "plugin-runs");
      assert.equal(denyLine?.["corral.verdict"], "deny");
      assert.match(report.id, /^[0-9a-f]{12}$/);
      runId = report.id;
      assert.equal(allowLine?.["corral.run"], report.id);
      assert.equal(denyLine?.["corral.run"], report.id);
    });

    test("the run is in the gate's audit log (reported through the admin API): verify passes, query shows it", async () => {
      assert.ok(runId, "needs the run above");
      // Stop the gate: it closes the log with a signed checkpoint.
      gate?.kill("SIGTERM");
      if (gate && gate.exitCode === null) await new Promise((r) => gate?.once("exit", r));
      const auditDir = join(tmp, "audit");
      let out = "";
      const stdout = new PassThrough().on("data", (b: Buffer) => {
        out += b.toString();
      });
      const verify = await main(["audit", "verify", "--dir", auditDir, "--key", `${auditKey}.pub`, "--strict"], {
        stdout,
        stderr: stdout,
      });
      assert.equal(verify, 0, out);
      out = "";
      assert.equal(
        await main(["audit", "query", "--dir", auditDir, "--kind", "sandbox.run", "--format", "json"], {
          stdout,
          stderr: stdout,
        }),
        0,
        out,
      );
      const runs = out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { actor: { identity: string }; data: Record<string, unknown> });
      assert.equal(runs.length, 1, out);
      assert.equal(runs[0]?.data.run, runId);
      assert.equal(runs[0]?.data.profile, "plugin");
      assert.equal(runs[0]?.data.exitCode, 0);
    });
  });
});
