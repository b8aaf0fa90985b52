// The gate's operational features over real sockets: hot reload, limits, approvals, learn mode
// with `policy suggest`, the admin endpoints and alert webhooks.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "../cli/main.ts";
import { loadPolicy } from "../policy/load.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { textSink } from "../testing/text-sink.ts";
import { waitFor } from "../testing/wait.ts";
import {
  freePort,
  heldRequest,
  type Origin,
  rawRequest,
  startDnsUpstream,
  startOrigin,
  startTestGate,
} from "./testkit.ts";

const skip = privilegedSkip({ root: false });

const capture = textSink;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("gate operations", { skip, timeout: 90_000 }, () => {
  let dir: string;
  let origin: Origin;
  let upstream: Awaited<ReturnType<typeof startDnsUpstream>>;
  let hook: http.Server;
  const hookBodies: unknown[] = [];
  let P = 0;

  const policy = (allow: string[], extra = "") => `version: 1
identities:
  agent: { source: [127.0.0.1/32] }
  learner: { source: [127.0.0.5/32] }
  limited: { source: [127.0.0.6/32] }
egress:
  - from: agent
    allow: [${allow.map((a) => JSON.stringify(a)).join(", ")}]
    approval: ask
  - from: learner
    mode: learn
  - from: limited
    allow: ["allowed.test:${P}"]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 500ms, retries: 1 }
gate:
  state_dir: ${JSON.stringify(join(dir, "state"))}
  limits: { per_identity_connections: 3, per_identity_rps: 1000, header_timeout: 2s }
  alerts: { webhook: "http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook", deny_burst: 5, fanout: 50 }
${extra}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "corral-gate-"));
    origin = await startOrigin("127.0.0.2");
    P = origin.port;
    upstream = await startDnsUpstream((name, type) =>
      type === "A" && name.endsWith(".test") ? { A: ["127.0.0.2"], ttl: 60 } : { ttl: 60 },
    );
    hook = http.createServer((req, res) => {
      let b = "";
      req.on("data", (c) => {
        b += c;
      });
      req.on("end", () => {
        hookBodies.push(JSON.parse(b));
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", () => r()));
  });

  after(async () => {
    // Safety net for CI: should a socket outlive its test, end this test process once the
    // results are out instead of hanging (unref'd, so it fires only if something is left).
    setTimeout(() => process.exit(), 10_000).unref();
    await Promise.all([origin?.close(), upstream?.close(), new Promise<void>((r) => hook.close(() => r()))]);
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (host: string, path = "/") => `GET http://${host}:${P}${path} HTTP/1.1\r\nHost: ${host}:${P}\r\n\r\n`;

  test("hot reload on file change: a bad policy keeps the last good one, open tunnels survive", async () => {
    const file = join(dir, "reload.yaml");
    writeFileSync(file, policy([`allowed.test:${P}`]));
    const g = await startTestGate("", { loaded: await loadPolicy(file), policyFile: file, watch: true });
    try {
      assert.equal((await rawRequest(g.proxyPort, get("allowed.test"))).status, 200);
      assert.equal((await rawRequest(g.proxyPort, get("new.test"))).status, 403);
      // An open tunnel across reloads.
      const net = await import("node:net");
      const tunnel = net.connect({ host: "127.0.0.1", port: g.proxyPort });
      let tunnelText = "";
      tunnel.on("data", (d) => {
        tunnelText += d.toString("latin1");
      });
      tunnel.write(`CONNECT allowed.test:${P} HTTP/1.1\r\n\r\n`);
      await waitFor("the tunnel to open", () => tunnelText.includes("200 Connection established"));
      const first = g.gate.policyHash;
      writeFileSync(file, policy([`new.test:${P}`]));
      await waitFor("the reload on change", () => g.gate.policyHash !== first);
      assert.equal((await rawRequest(g.proxyPort, get("new.test"))).status, 200, "reloaded on change");
      assert.equal((await rawRequest(g.proxyPort, get("allowed.test"))).status, 403);
      writeFileSync(file, 'version: 1\negress: [ { from: agent, allow: ["bad host name!"] } ]\n');
      await waitFor("the failed reload", () =>
        g.logs.some((l) => l["event.action"] === "policy-reload" && l["event.outcome"] === "failure"),
      );
      assert.equal((await rawRequest(g.proxyPort, get("new.test"))).status, 200, "last good policy kept");
      assert.equal(await g.gate.reload(), false);
      tunnel.write(`GET / HTTP/1.1\r\nHost: allowed.test:${P}\r\n\r\n`);
      await waitFor("the answer through the tunnel", () => /HTTP\/1\.1 200 OK/.test(tunnelText));
      assert.match(
        tunnelText,
        /HTTP\/1\.1 200 Connection established[\s\S]*HTTP\/1\.1 200 OK/,
        "tunnel opened before the reloads still works",
      );
      tunnel.destroy();
    } finally {
      await g.close();
    }
  });

  test("the CLI: corral gate reloads on SIGHUP (file watching off) and stops on SIGTERM", async () => {
    const { spawn } = await import("node:child_process");
    const file = join(dir, "hup.yaml");
    const [pp, dp, ap] = [await freePort(), await freePort(), await freePort()];
    const listen = `  listen: { proxy: "127.0.0.1:${pp}", dns: "127.0.0.1:${dp}", admin: "127.0.0.1:${ap}" }\n`;
    const withListen = (allow: string[]) => policy(allow).replace("gate:\n", `gate:\n${listen}`);
    writeFileSync(file, withListen([`allowed.test:${P}`]));
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, "../cli/main.ts"),
        "gate",
        "--policy",
        file,
        "--no-watch",
        "--log",
        join(dir, "hup.log"),
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let err = "";
        child.stderr?.on("data", (d) => {
          err += d;
          if (err.includes("admin http://")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`gate exited ${code}: ${err}`)));
      });
      assert.equal((await rawRequest(pp, get("allowed.test"))).status, 200);
      assert.equal((await rawRequest(pp, get("hup.test"))).status, 403);
      writeFileSync(file, withListen([`hup.test:${P}`]));
      // A negative check can only watch for a while; it cannot fail on a slow machine, only miss.
      await sleep(300);
      assert.equal((await rawRequest(pp, get("hup.test"))).status, 403, "no reload without a signal");
      child.kill("SIGHUP");
      await waitFor(
        "the reload on SIGHUP",
        async () => (await rawRequest(pp, get("hup.test"), { waitMs: 500 })).status === 200,
      );
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        child.kill("SIGTERM");
        assert.equal(await exited, 0);
      }
    }
  });

  test("limits: per-identity connections and max connections", async () => {
    const g = await startTestGate(policy([`allowed.test:${P}`]));
    try {
      const held = await Promise.all(
        [0, 1, 2].map(() => heldRequest(g.proxyPort, get("allowed.test"), { localAddress: "127.0.0.6" })),
      );
      assert.deepEqual(
        held.map((h) => h.status),
        [200, 200, 200],
      );
      const fourth = await rawRequest(g.proxyPort, get("allowed.test"), { localAddress: "127.0.0.6" });
      assert.equal(fourth.status, 429);
      for (const h of held) h.sock.destroy();
      await waitFor("the gate to see the held connections close", () => g.gate.openConnections === 0);
      assert.equal((await rawRequest(g.proxyPort, get("allowed.test"), { localAddress: "127.0.0.6" })).status, 200);
    } finally {
      await g.close();
    }
    // The limiter reads the gate's clock; held still, the bucket cannot refill between requests
    // however slowly this machine sends them.
    let clock = Date.UTC(2030, 0, 1);
    const tight = await startTestGate(
      policy([`allowed.test:${P}`], "").replace("per_identity_rps: 1000", "per_identity_rps: 2, max_connections: 2"),
      { now: () => clock },
    );
    try {
      const held = await Promise.all([0, 1].map(() => heldRequest(tight.proxyPort, get("allowed.test"))));
      assert.deepEqual(
        held.map((h) => h.status),
        [200, 200],
        "a burst of per_identity_rps passes",
      );
      assert.equal((await rawRequest(tight.proxyPort, get("allowed.test"))).status, 503, "max_connections");
      for (const h of held) h.sock.destroy();
      await waitFor("the gate to see the held connections close", () => tight.gate.openConnections === 0);
      const limited = await rawRequest(tight.proxyPort, get("allowed.test"));
      assert.equal(limited.status, 429);
      assert.match(limited.text, /request rate/);
      assert.match(limited.text, /X-Corral-Rule: limits/i);
      clock += 500;
      assert.equal(
        (await rawRequest(tight.proxyPort, get("allowed.test"))).status,
        200,
        "one token back after 1/rps s",
      );
      assert.equal((await rawRequest(tight.proxyPort, get("allowed.test"))).status, 429);
    } finally {
      await tight.close();
    }
  });

  test("approvals: ask → pending id → corral approve → allowed until it expires; corral deny revokes", async () => {
    // The grant expires on the gate's clock, moved by hand: a slow CLI run cannot eat the second.
    let clock = Date.UTC(2030, 0, 1);
    const g = await startTestGate(policy([`allowed.test:${P}`]), { now: () => clock });
    try {
      const denied = await rawRequest(g.proxyPort, get("ask.test"));
      assert.equal(denied.status, 403);
      const id = /X-Corral-Approval: ([0-9a-f]+)/.exec(denied.text)?.[1];
      assert.ok(id, denied.text);
      const again = await rawRequest(g.proxyPort, get("ask.test"));
      assert.match(again.text, new RegExp(`X-Corral-Approval: ${id}`), "same pending request");
      const out = capture();
      const code = await main(
        // The token comes from the gate's state dir (admin.token), as an operator's would.
        [
          "approve",
          id,
          "--for",
          "1s",
          "--admin",
          `127.0.0.1:${g.adminPort}`,
          "--actor",
          "tester",
          "--state",
          join(dir, "state"),
        ],
        { stdout: out.stream, stderr: out.stream },
      );
      assert.equal(code, 0, out.text());
      assert.match(out.text(), /agent → ask\.test:\d+ approved until/);
      assert.equal((await rawRequest(g.proxyPort, get("ask.test"))).status, 200);
      assert.ok(g.logs.some((l) => l["event.action"] === "approval-approve" && l["user.name"] === "tester"));
      clock += 999;
      assert.equal((await rawRequest(g.proxyPort, get("ask.test"))).status, 200, "grant still holds");
      clock += 1;
      assert.equal((await rawRequest(g.proxyPort, get("ask.test"))).status, 403, "grant expired");
      const d = capture();
      assert.equal(
        await main(["deny", id, "--admin", `127.0.0.1:${g.adminPort}`], {
          stdout: d.stream,
          stderr: d.stream,
          env: { ...process.env, CORRAL_GATE_ADMIN_TOKEN: g.gate.adminToken },
        }),
        0,
        d.text(),
      );
      assert.match(d.text(), /denied/);
      const missing = capture();
      assert.equal(
        await main(["approve", "abcdef", "--admin", `127.0.0.1:${g.adminPort}`, "--state", join(dir, "state")], {
          stdout: missing.stream,
          stderr: missing.stream,
        }),
        1,
      );
      const list = (await (
        await fetch(`http://127.0.0.1:${g.adminPort}/approvals`, {
          headers: { authorization: `Bearer ${g.gate.adminToken}` },
        })
      ).json()) as {
        requests: { id: string; status: string }[];
      };
      assert.equal(list.requests.find((r) => r.id === id)?.status, "denied");
    } finally {
      await g.close();
    }
  });

  test("learn mode records destinations above the floor; policy suggest folds siblings", async () => {
    const g = await startTestGate(policy([`allowed.test:${P}`]));
    try {
      for (const h of ["a.cdn.test", "b.cdn.test", "c.cdn.test", "api.test"]) {
        assert.equal((await rawRequest(g.proxyPort, get(h), { localAddress: "127.0.0.5" })).status, 200, h);
      }
      const inside = await rawRequest(
        g.proxyPort,
        `GET http://127.0.0.1:${P}/ HTTP/1.1\r\nHost: 127.0.0.1:${P}\r\n\r\n`,
        { localAddress: "127.0.0.5" },
      );
      assert.equal(inside.status, 403, "the floor holds in learn mode");
    } finally {
      await g.close();
    }
    const out = capture();
    const code = await main(["policy", "suggest", "--state", join(dir, "state"), "--fold", "3"], {
      stdout: out.stream,
      stderr: out.stream,
    });
    assert.equal(code, 0, out.text());
    assert.match(out.text(), /from: learner/);
    assert.match(out.text(), new RegExp(`"\\*\\.cdn\\.test:${P}"  # 3 requests`));
    assert.match(out.text(), new RegExp(`"api\\.test:${P}"  # 1 request`));
    assert.doesNotMatch(out.text(), /127\.0\.0\.1/);
  });

  test("admin: metrics, health, events stream; alerts reach the webhook", async () => {
    const g = await startTestGate(policy([`allowed.test:${P}`]));
    try {
      const base = `http://127.0.0.1:${g.adminPort}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      const rebound = await rawRequest(g.adminPort, "GET /approvals HTTP/1.1\r\nHost: evil.example:9099\r\n\r\n");
      assert.equal(rebound.status, 421, "a DNS-rebound page cannot use the admin API");
      const events: string[] = [];
      const ac = new AbortController();
      const stream = fetch(`${base}/events`, {
        signal: ac.signal,
        headers: { authorization: `Bearer ${g.gate.adminToken}` },
      }).then(async (res) => {
        const reader = res.body!.getReader();
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          events.push(Buffer.from(value).toString());
        }
      });
      // The gate subscribes the stream before it writes this comment.
      await waitFor("the events stream", () => events.join("").includes(": corral gate events"));
      await rawRequest(g.proxyPort, get("allowed.test"));
      for (let i = 0; i < 6; i++) await rawRequest(g.proxyPort, get(`nope${i}.test`), { waitMs: 200 });
      await waitFor("the burst alert on the stream", () =>
        /event: alert\ndata: .*"event.action":"deny_burst"/.test(events.join("")),
      );
      await waitFor("the burst alert at the webhook", () =>
        hookBodies.some((b) => (b as { kind: string }).kind === "deny_burst"),
      );
      ac.abort();
      await stream.catch(() => {});
      const all = events.join("");
      assert.match(all, /event: decision\ndata: .*"destination.domain":"allowed.test"/);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(
        metrics,
        /corral_gate_decisions_total\{identity="agent",verdict="allow",outcome="success",rule="egress:agent",reason="listed",transport="http"\} 1/,
      );
      assert.match(metrics, /corral_gate_decisions_total\{identity="agent",verdict="deny"/);
      assert.match(metrics, /corral_gate_decision_seconds_bucket/);
      assert.match(metrics, /corral_gate_alerts_total\{kind="deny_burst"\} 1/);
      assert.match(metrics, /corral_gate_bytes_total\{direction="down"\}/);
    } finally {
      await g.close();
    }
  });
});
