// The admin API's integration points over real loopback sockets: bearer-token authentication,
// per-run (ephemeral) identities decided as their parent and logged with the run id, the
// X-Corral-Run header never trusted nor forwarded, and approvals of address-literal targets.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { main } from "../cli/main.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { type Origin, rawRequest, startDnsUpstream, startOrigin, startTestGate, type TestGate } from "./testkit.ts";

const skip = privilegedSkip({ root: false });

describe("gate admin API", { skip, timeout: 60_000 }, () => {
  let dir: string;
  let origin: Origin;
  let upstream: Awaited<ReturnType<typeof startDnsUpstream>>;
  let g: TestGate;
  let P = 0;
  const env = { PLUGIN_TOKEN: "static-plugin-token" };
  const policy = () => `version: 1
identities:
  agent: { source: [127.0.0.1/32] }
  plugin-runs: { token_env: PLUGIN_TOKEN }
egress:
  - from: agent
    allow: ["allowed.test:${P}"]
    approval: ask
  - from: plugin-runs
    allow: ["allowed.test:${P}"]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 500ms, retries: 1 }
gate:
  state_dir: ${JSON.stringify(join(dir, "state"))}
`;
  const get = (host: string, extra = "") =>
    `GET http://${host}:${P}/ HTTP/1.1\r\nHost: ${host}:${P}\r\n${extra}Connection: close\r\n\r\n`;
  const admin = (path: string, init: RequestInit = {}, token?: string) =>
    fetch(`http://127.0.0.1:${g.adminPort}${path}`, {
      ...init,
      headers: {
        ...(init.body ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "corral-admin-"));
    origin = await startOrigin("127.0.0.2");
    P = origin.port;
    upstream = await startDnsUpstream((name, type) =>
      type === "A" && name.endsWith(".test") ? { A: ["127.0.0.2"], ttl: 60 } : { ttl: 60 },
    );
    g = await startTestGate(policy(), { env });
  });

  after(async () => {
    setTimeout(() => process.exit(), 10_000).unref();
    await Promise.all([g?.close(), origin?.close(), upstream?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("token file: created 0600 with 32 random bytes in hex, reused by the next start", async () => {
    const file = join(dir, "state", "admin.token");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(g.gate.adminToken, /^[0-9a-f]{64}$/);
    const again = await startTestGate(policy(), { env, serve: { proxy: false, dns: false, admin: true } });
    try {
      assert.equal(again.gate.adminToken, g.gate.adminToken);
    } finally {
      await again.close();
    }
    const fromEnv = await startTestGate(policy(), {
      env: { ...env, CORRAL_GATE_ADMIN_TOKEN: "from-the-environment" },
      serve: { proxy: false, dns: false, admin: true },
    });
    try {
      assert.equal(fromEnv.gate.adminToken, "from-the-environment");
    } finally {
      await fromEnv.close();
    }
  });

  test("no token → 401, wrong token → 401, right token → works; health and metrics stay open", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics"]) assert.equal((await admin(path)).status, 200, path);
    const guarded: [string, RequestInit][] = [
      ["/approvals", {}],
      ["/events", {}],
      ["/approvals/abcdef/approve", { method: "POST", body: "{}" }],
      ["/identities/ephemeral", { method: "POST", body: JSON.stringify({ parent: "plugin-runs", run: "x" }) }],
      ["/identities/ephemeral/cr_00", { method: "DELETE" }],
      ["/audit/records", { method: "POST", body: "{}" }],
    ];
    for (const [path, init] of guarded) {
      const none = await admin(path, init);
      assert.equal(none.status, 401, `${path} without a token`);
      assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
      assert.equal(
        (await admin(path, init, `${g.gate.adminToken.slice(0, -1)}${g.gate.adminToken.endsWith("0") ? "1" : "0"}`))
          .status,
        401,
        `${path} wrong`,
      );
      assert.equal((await admin(path, init, "short")).status, 401, `${path} short`);
    }
    const ok = await admin("/approvals", {}, g.gate.adminToken);
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(((await ok.json()) as { requests: unknown[] }).requests));
    // Basic credentials or a token in another header are not accepted either.
    const basic = await fetch(`http://127.0.0.1:${g.adminPort}/approvals`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${g.gate.adminToken}`).toString("base64")}` },
    });
    assert.equal(basic.status, 401);

    const locked = await startTestGate(policy(), {
      env,
      metricsPublic: false,
      serve: { proxy: false, dns: false, admin: true },
    });
    try {
      const base = `http://127.0.0.1:${locked.adminPort}`;
      assert.equal((await fetch(`${base}/metrics`)).status, 401, "--metrics-auth");
      const withToken = await fetch(`${base}/metrics`, {
        headers: { authorization: `Bearer ${locked.gate.adminToken}` },
      });
      assert.equal(withToken.status, 200);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    } finally {
      await locked.close();
    }
  });

  test("corral approve without the token says how to get it; with --state it works", async () => {
    let text = "";
    const out = new Writable({
      write(c, _e, cb) {
        text += c;
        cb();
      },
    });
    const code = await main(["approve", "abcdef", "--admin", `127.0.0.1:${g.adminPort}`], {
      stdout: out,
      stderr: out,
      env: {},
      cwd: dir,
    });
    assert.equal(code, 1);
    assert.match(text, /admin token.*CORRAL_GATE_ADMIN_TOKEN/);
    text = "";
    const found = await main(
      ["approve", "abcdef", "--admin", `127.0.0.1:${g.adminPort}`, "--state", join(dir, "state")],
      { stdout: out, stderr: out, env: {}, cwd: dir },
    );
    assert.equal(found, 1);
    assert.match(text, /no approval request 'abcdef'/, "authenticated: the gate looked the id up");
  });

  test("a run's ephemeral token is decided as its parent and every line names the run", async () => {
    const token = g.gate.adminToken;
    const bad = await admin(
      "/identities/ephemeral",
      { method: "POST", body: JSON.stringify({ parent: "agent", run: "r1" }) },
      token,
    );
    assert.equal(bad.status, 400, "only identities with token_env can have runs");
    const badRun = await admin(
      "/identities/ephemeral",
      { method: "POST", body: JSON.stringify({ parent: "plugin-runs", run: "bad run id\n" }) },
      token,
    );
    assert.equal(badRun.status, 400);
    const minted = await admin(
      "/identities/ephemeral",
      { method: "POST", body: JSON.stringify({ parent: "plugin-runs", run: "run-4f2a", ttlMs: 60_000 }) },
      token,
    );
    assert.equal(minted.status, 201);
    const { token: runToken } = (await minted.json()) as { token: string };
    assert.match(runToken, /^cr_[0-9a-f]{48}$/);

    // The header is the client's claim: ignored (the run comes from the token) and never forwarded.
    const before = origin.requests.length;
    const allowed = await rawRequest(
      g.proxyPort,
      get("allowed.test", `Proxy-Authorization: Bearer ${runToken}\r\nX-Corral-Run: forged-run\r\n`),
      { localAddress: "127.0.0.7" },
    );
    assert.equal(allowed.status, 200, allowed.text);
    const seen = origin.requests.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers["x-corral-run"], undefined, "the origin never sees X-Corral-Run");
    assert.equal(seen[0]!.headers["proxy-authorization"], undefined);
    const denied = await rawRequest(g.proxyPort, get("other.test", `Proxy-Authorization: Bearer ${runToken}\r\n`), {
      localAddress: "127.0.0.7",
    });
    assert.equal(denied.status, 403);
    const lines = g.logs.filter((l) => l["corral.run"] === "run-4f2a" && l["corral.verdict"] !== undefined);
    assert.deepEqual(
      lines.map((l) => [l["corral.identity"], l["corral.verdict"], l["destination.domain"]]),
      [
        ["plugin-runs", "allow", "allowed.test"],
        ["plugin-runs", "deny", "other.test"],
      ],
    );
    assert.ok(!g.logs.some((l) => l["corral.run"] === "forged-run"));

    // The shared token with a forged header: decided, forwarded without it, logged without a run.
    const n = origin.requests.length;
    const shared = await rawRequest(
      g.proxyPort,
      get("allowed.test", `Proxy-Authorization: Bearer ${env.PLUGIN_TOKEN}\r\nX-Corral-Run: forged-2\r\n`),
      { localAddress: "127.0.0.7" },
    );
    assert.equal(shared.status, 200);
    assert.equal(origin.requests[n]!.headers["x-corral-run"], undefined);
    assert.ok(!g.logs.some((l) => l["corral.run"] === "forged-2"));

    const released = await admin(`/identities/ephemeral/${runToken}`, { method: "DELETE" }, token);
    assert.equal(released.status, 200);
    const after = await rawRequest(g.proxyPort, get("allowed.test", `Proxy-Authorization: Bearer ${runToken}\r\n`), {
      localAddress: "127.0.0.7",
    });
    assert.equal(after.status, 407, "a released token is no identity at all: the client is asked to authenticate");
    assert.equal((await admin(`/identities/ephemeral/${runToken}`, { method: "DELETE" }, token)).status, 404);
  });

  test("approving an address-literal destination allows exactly it (CONNECT and plain HTTP)", async () => {
    const connect = `CONNECT 127.0.0.2:${P} HTTP/1.1\r\nHost: 127.0.0.2:${P}\r\n\r\n`;
    const denied = await rawRequest(g.proxyPort, connect, { waitMs: 300 });
    assert.equal(denied.status, 403, denied.text);
    const id = /X-Corral-Approval: ([0-9a-f]+)/.exec(denied.text)?.[1];
    assert.ok(id, denied.text);
    const list = (await (await admin("/approvals", {}, g.gate.adminToken)).json()) as {
      requests: { id: string; ip?: string; port?: number }[];
    };
    const req = list.requests.find((r) => r.id === id);
    assert.deepEqual([req?.ip, req?.port], ["127.0.0.2", P], "the request names the address");
    const approved = await admin(
      `/approvals/${id}/approve`,
      { method: "POST", body: JSON.stringify({ forMs: 60_000, actor: "tester" }) },
      g.gate.adminToken,
    );
    assert.equal(approved.status, 200);
    const tunnel = await rawRequest(g.proxyPort, connect, { waitMs: 300 });
    assert.equal(tunnel.status, 200, tunnel.text);
    const plain = await rawRequest(g.proxyPort, get("127.0.0.2"));
    assert.equal(plain.status, 200, plain.text);
    const otherPort = await rawRequest(g.proxyPort, `CONNECT 127.0.0.2:${P + 1 > 65535 ? 1 : P + 1} HTTP/1.1\r\n\r\n`, {
      waitMs: 300,
    });
    assert.equal(otherPort.status, 403, "the grant is for that port only");
  });
});
