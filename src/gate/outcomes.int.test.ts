// What a client sees and what the log says agree: every status the proxy answers with has
// exactly one canonical line, written when the request ends, and an upstream outage is a
// failure (outcome: failure), never a denial, so it raises no deny-burst alert.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import * as dns from "dns-packet";
import { privilegedSkip } from "../testing/privileged.ts";
import { waitFor } from "../testing/wait.ts";
import {
  type Origin,
  rawRequest,
  startDnsUpstream,
  startEcho,
  startOrigin,
  startTestGate,
  type TestGate,
} from "./testkit.ts";

const skip = privilegedSkip({ root: false });

type Line = Record<string, unknown>;
const requestLines = (logs: Line[]) => logs.filter((l) => String(l["event.action"]).startsWith("gate-"));

/** A listener that never accepts: its process blocks its own event loop once the queue is full. */
async function stalledListener(host: string): Promise<{ port: number; close(): void }> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:net").createServer(() => {});
s.listen({ port: 0, host: ${JSON.stringify(host)}, backlog: 1 }, () => {
  process.stdout.write(s.address().port + "\\n");
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000), 50);
});`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = Number(await new Promise<string>((r) => child.stdout.once("data", (d) => r(String(d).trim()))));
  await new Promise((r) => setTimeout(r, 200));
  // Fill the accept queue; from here on the kernel drops SYNs and a connect hangs.
  const fillers = [0, 1, 2, 3].map(() => net.connect(port, host).on("error", () => {}));
  await new Promise((r) => setTimeout(r, 200));
  return {
    port,
    close: () => {
      for (const f of fillers) f.destroy();
      child.kill("SIGKILL");
    },
  };
}

describe("one line per request, with its outcome", { skip, timeout: 60_000 }, () => {
  let origin: Origin;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let upstream: Awaited<ReturnType<typeof startDnsUpstream>>;
  let stalled: Awaited<ReturnType<typeof stalledListener>>;
  let closedPort = 0;
  let g: TestGate;

  before(async () => {
    origin = await startOrigin("127.0.0.2");
    echo = await startEcho("127.0.0.2");
    stalled = await stalledListener("127.0.0.3");
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.2", () => r()));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    upstream = await startDnsUpstream((name, type) => {
      if (name === "down.test") return "drop";
      return type === "A" && name.endsWith(".test") ? { A: ["127.0.0.2"], ttl: 60 } : { ttl: 60 };
    });
    g = await startTestGate(
      `version: 1
identities:
  agent: { source: [127.0.0.1/32] }
  tokened: { token_env: OUTCOME_TOKEN }
  slow: { source: [127.0.0.7/32] }
egress:
  - from: agent
    allow: ["allowed.test:${origin.port}", "down.test", "tunnel.test:${echo.port}", "127.0.0.2:${closedPort}", "127.0.0.3:${stalled.port}"]
  - from: slow
    allow: ["allowed.test:${origin.port}"]
floor:
  allow_ranges: [127.0.0.2/32, 127.0.0.3/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 200ms, retries: 0 }
gate:
  limits: { per_identity_rps: 50, header_bytes: 2048, connect_timeout: 500ms }
  alerts: { deny_burst: 3 }
`,
      // The rate limiter reads this clock: held still, no bucket refills during the test.
      { env: { OUTCOME_TOKEN: "right" }, now: () => Date.UTC(2030, 0, 1) },
    );
  });

  after(async () => {
    await Promise.all([g?.close(), origin?.close(), echo?.close(), upstream?.close()]);
    stalled?.close();
  });

  /** Runs one request and returns the lines it added (waiting for them to be written). */
  async function linesOf(run: () => Promise<unknown>, expect = 1): Promise<Line[]> {
    const before = requestLines(g.logs).length;
    await run();
    await waitFor("the request's line", () => requestLines(g.logs).length >= before + expect);
    // Anything written twice would show up now.
    await new Promise((r) => setTimeout(r, 100));
    return requestLines(g.logs).slice(before);
  }

  const get = (host: string, port: number, extra = "") =>
    `GET http://${host}:${port}/ HTTP/1.1\r\nHost: ${host}:${port}\r\n${extra}\r\n`;

  test("200 forward: one line, success, with the upstream's status and bytes", async () => {
    const [line, ...more] = await linesOf(async () => {
      const r = await rawRequest(g.proxyPort, get("allowed.test", origin.port));
      assert.equal(r.status, 200);
    });
    assert.equal(more.length, 0);
    assert.equal(line!["http.response.status_code"], 200);
    assert.equal(line!["corral.outcome"], "success");
    assert.ok(Number(line!["destination.bytes"]) > 0);
  });

  test("200 CONNECT: one line when the tunnel closes, with both byte counts", async () => {
    const [line, ...more] = await linesOf(async () => {
      const s = net.connect(g.proxyPort, "127.0.0.1");
      await new Promise<void>((r) => s.once("connect", () => r()));
      s.write(`CONNECT tunnel.test:${echo.port} HTTP/1.1\r\nHost: tunnel.test:${echo.port}\r\n\r\n`);
      let got = "";
      s.on("data", (d) => {
        got += d.toString("latin1");
      });
      await waitFor("the 200", () => got.includes("200 Connection established"));
      s.write("ping");
      await waitFor("the echo", () => got.endsWith("ping"));
      assert.equal(
        requestLines(g.logs).filter((l) => l["destination.domain"] === "tunnel.test").length,
        0,
        "nothing logged while open",
      );
      s.end();
    });
    assert.equal(more.length, 0);
    assert.equal(line!["http.response.status_code"], 200);
    assert.equal(line!["source.bytes"], 4);
    assert.equal(line!["destination.bytes"], 4);
  });

  const one = async (status: number, send: () => Promise<{ status: number | undefined }>) => {
    const lines = await linesOf(async () => assert.equal((await send()).status, status));
    assert.equal(lines.length, 1, `exactly one line for ${status}: ${JSON.stringify(lines)}`);
    assert.equal(lines[0]!["http.response.status_code"], status);
    return lines[0]!;
  };

  test("403 denial, 407 unknown credential, 431 head too large: denied, one line each", async () => {
    const denied = await one(403, () => rawRequest(g.proxyPort, get("other.test", origin.port)));
    assert.equal(denied["corral.outcome"], "denied");
    assert.equal(denied["corral.reason_code"], "unlisted");
    const auth = await one(407, () =>
      rawRequest(g.proxyPort, get("allowed.test", origin.port, "Proxy-Authorization: Bearer wrong\r\n")),
    );
    assert.equal(auth["corral.reason_code"], "identity-unknown");
    const big = await one(431, () =>
      rawRequest(g.proxyPort, get("allowed.test", origin.port, `X-Big: ${"a".repeat(4000)}\r\n`)),
    );
    assert.equal(big["corral.reason_code"], "bad-request");
  });

  test("429: the rate limit is one line, a limits denial", async () => {
    const opts = { localAddress: "127.0.0.7" };
    const closing = get("allowed.test", origin.port, "Connection: close\r\n");
    for (let i = 0; i < 50; i++) assert.equal((await rawRequest(g.proxyPort, closing, opts)).status, 200);
    const limited = await one(429, () => rawRequest(g.proxyPort, get("allowed.test", origin.port), opts));
    assert.equal(limited["corral.reason_code"], "rate-limited");
    assert.equal(limited["rule.id"], "limits");
  });

  test("502 refused dial and 504 dial timeout: allowed, failed, one line each", async () => {
    const refused = await one(502, () => rawRequest(g.proxyPort, get("127.0.0.2", closedPort)));
    assert.equal(refused["corral.verdict"], "allow");
    assert.equal(refused["corral.outcome"], "failure");
    assert.match(String(refused["error.message"]), /ECONNREFUSED/);
    const timedOut = await one(504, () => rawRequest(g.proxyPort, get("127.0.0.3", stalled.port), { waitMs: 3000 }));
    assert.equal(timedOut["corral.outcome"], "failure");
    assert.match(String(timedOut["error.message"]), /timed out/);
  });

  test("a DNS upstream outage: failure lines on both transports, no deny, no deny-burst alert", async () => {
    const alerts: string[] = [];
    g.gate.bus.on("alert", (a) => alerts.push(a.kind));
    const dnsLines = await linesOf(async () => {
      for (let i = 0; i < 4; i++) {
        const c = dgram.createSocket("udp4");
        await new Promise<void>((resolve) => {
          c.once("message", () => resolve());
          const query = dns.encode({
            type: "query",
            id: i + 1,
            flags: dns.RECURSION_DESIRED,
            questions: [{ type: "A", name: "down.test" }],
          });
          c.send(query, g.dnsPort, "127.0.0.1");
          setTimeout(resolve, 2000).unref();
        });
        c.close();
      }
    }, 4);
    assert.equal(dnsLines.length, 4);
    for (const l of dnsLines) {
      assert.equal(l["corral.verdict"], "allow");
      assert.equal(l["corral.outcome"], "failure");
      assert.equal(l["dns.response_code"], "SERVFAIL");
    }
    const proxied = await one(502, () => rawRequest(g.proxyPort, get("down.test", 80)));
    assert.equal(proxied["corral.outcome"], "failure");
    assert.equal(proxied["corral.verdict"], "allow");
    assert.deepEqual(
      alerts.filter((k) => k === "deny_burst"),
      [],
    );
    const metrics = await g.gate.metrics.registry.getSingleMetricAsString("corral_gate_decisions_total");
    assert.match(metrics, /verdict="allow",outcome="failure"/);
    assert.doesNotMatch(
      metrics,
      /identity="agent",verdict="deny",outcome="denied",rule="egress:agent",reason="listed"/,
    );
  });
});
