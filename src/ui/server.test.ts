import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseSetCookie } from "cookie";
import { type AuditSink, openAuditSink, readRecords } from "../audit/index.ts";
import { Gate } from "../gate/gate.ts";
import { parsePolicy } from "../policy/index.ts";
import { hasCommand } from "../testing/privileged.ts";
import { GateClient } from "./gate-client.ts";
import { CONTENT_SECURITY_POLICY } from "./headers.ts";
import { createUiServer, type UiServer, type UiServerOptions } from "./server.ts";
import { stateWithPassword, TEST_PASSWORD } from "./testing.ts";

interface Harness {
  ui: UiServer;
  state: { dir: string; cleanup(): void };
  audit: AuditSink;
  auditDir: string;
  close(): Promise<void>;
}

async function harness(extra: Partial<UiServerOptions> = {}): Promise<Harness> {
  const state = await stateWithPassword();
  const auditDir = mkdtempSync(join(tmpdir(), "corral-ui-audit-"));
  const audit = await openAuditSink({ dir: auditDir, fsync: "none" });
  const ui = await createUiServer({ stateDir: state.dir, audit, log: () => {}, ...extra });
  return {
    ui,
    state,
    audit,
    auditDir,
    async close() {
      await ui.close();
      await audit.close();
      state.cleanup();
      rmSync(auditDir, { recursive: true, force: true });
    },
  };
}

async function auditRecords(h: Harness) {
  await h.audit.close();
  const out = [];
  for await (const r of readRecords(h.auditDir)) out.push(r);
  return out;
}

async function login(ui: UiServer, password = TEST_PASSWORD, headers: Record<string, string> = {}) {
  const res = await ui.app.inject({ method: "POST", url: "/api/login", payload: { password }, headers });
  const setCookie = res.headers["set-cookie"];
  const cookie = typeof setCookie === "string" ? parseSetCookie(setCookie) : undefined;
  return {
    res,
    cookie,
    header: cookie ? `${cookie.name}=${cookie.value}` : "",
    csrf: res.json().csrf as string | undefined,
  };
}

describe("security headers", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  for (const url of ["/login", "/api/session", "/static/app.js", "/nope", "/"]) {
    test(`${url} carries CSP, framing, sniffing and referrer headers; no HSTS without TLS`, async () => {
      const res = await h.ui.app.inject({ url });
      assert.equal(res.headers["content-security-policy"], CONTENT_SECURITY_POLICY);
      assert.match(
        CONTENT_SECURITY_POLICY,
        /default-src 'self'; script-src 'self'.*object-src 'none'; frame-ancestors 'none'; base-uri 'none'/,
      );
      assert.equal(res.headers["x-frame-options"], "DENY");
      assert.equal(res.headers["x-content-type-options"], "nosniff");
      assert.equal(res.headers["referrer-policy"], "no-referrer");
      assert.equal(res.headers["strict-transport-security"], undefined);
    });
  }

  test("pages hold no inline script or style", () => {
    for (const page of ["index.html", "login.html"]) {
      const html = readFileSync(new URL(`./web/${page}`, import.meta.url), "utf8");
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${page}: inline <script>`);
      assert.doesNotMatch(html, /\son[a-z]+=/i, `${page}: inline handler`);
      assert.doesNotMatch(html, /<style|\sstyle=/i, `${page}: inline style`);
    }
  });

  test("static files are served by exact name only", async () => {
    assert.equal(
      (await h.ui.app.inject({ url: "/static/app.js" })).headers["content-type"],
      "text/javascript; charset=utf-8",
    );
    for (const url of [
      "/static/..%2fserver.ts",
      "/static/../server.ts",
      "/static/index.html",
      "/static/%2e%2e%2fpassword.ts",
      "/static/missing.js",
    ]) {
      assert.equal((await h.ui.app.inject({ url })).statusCode, 404, url);
    }
  });
});

describe("login and sessions", () => {
  test("without a session the API says 401 and / redirects to the login page", async () => {
    const h = await harness();
    try {
      for (const url of [
        "/api/graph",
        "/api/events",
        "/api/approvals",
        "/api/audit",
        "/api/sandbox-runs",
        "/api/alerts",
        "/api/observed",
      ]) {
        assert.equal((await h.ui.app.inject({ url })).statusCode, 401, url);
      }
      const root = await h.ui.app.inject({ url: "/" });
      assert.equal(root.statusCode, 302);
      assert.equal(root.headers.location, "/login");
    } finally {
      await h.close();
    }
  });

  test("a right password opens a session: HttpOnly, SameSite=Strict cookie with a random id; both outcomes are audited", async () => {
    const h = await harness();
    try {
      const bad = await login(h.ui, "wrong password!!");
      assert.equal(bad.res.statusCode, 401);
      assert.equal(bad.res.headers["set-cookie"], undefined);
      const ok = await login(h.ui);
      assert.equal(ok.res.statusCode, 200);
      assert.equal(ok.cookie?.name, "corral_session");
      assert.equal(ok.cookie?.httpOnly, true);
      assert.equal(ok.cookie?.sameSite, "strict");
      assert.equal(ok.cookie?.path, "/");
      assert.equal(ok.cookie?.secure, undefined, "no Secure flag over plain HTTP");
      assert.match(ok.cookie?.value ?? "", /^[A-Za-z0-9_-]{43}$/);
      assert.match(ok.csrf ?? "", /^[A-Za-z0-9_-]{43}$/);
      const again = await login(h.ui);
      assert.notEqual(again.cookie?.value, ok.cookie?.value);
      const session = await h.ui.app.inject({ url: "/api/session", headers: { cookie: ok.header } });
      assert.deepEqual(session.json(), { authenticated: true, csrf: ok.csrf, user: "admin", passwordSet: true });
      assert.equal((await h.ui.app.inject({ url: "/api/graph", headers: { cookie: ok.header } })).statusCode, 200);
      const records = await auditRecords(h);
      assert.deepEqual(
        records.map((r) => [r.kind, r.actor.identity, r.data.ok, r.data.reason ?? null]),
        [
          ["login", "ui:admin", false, "wrong-password"],
          ["login", "ui:admin", true, null],
          ["login", "ui:admin", true, null],
        ],
      );
      assert.equal(records[0]?.actor.ip, "127.0.0.1");
    } finally {
      await h.close();
    }
  });

  test("five wrong passwords lock the account; the right one is refused during the lock", async () => {
    const h = await harness({ lockout: { lockMs: 60_000, perIpAttempts: 100 } });
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await login(h.ui, `wrong password ${i}`)).res.statusCode);
      assert.deepEqual(codes, [401, 401, 401, 401, 429]);
      const locked = await login(h.ui);
      assert.equal(locked.res.statusCode, 429);
      assert.match(locked.res.json().error, /locked/);
      assert.ok(Number(locked.res.headers["retry-after"]) > 0);
      assert.equal(locked.res.headers["set-cookie"], undefined);
      const session = (await h.ui.app.inject({ url: "/api/session" })).json();
      assert.ok(session.lockedUntil);
      const records = await auditRecords(h);
      assert.equal(records.length, 6);
      assert.equal(records[4]?.data.locked, true);
      assert.equal(records[5]?.data.reason, "locked");
    } finally {
      await h.close();
    }
  });

  test("parallel guesses cannot slip past the lock", async () => {
    const h = await harness({ lockout: { lockMs: 60_000, perIpAttempts: 100 } });
    try {
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => login(h.ui, `parallel guess ${i}`)));
      const codes = results.map((r) => r.res.statusCode);
      assert.equal(codes.filter((c) => c === 401).length, 4);
      assert.equal(codes.filter((c) => c === 429).length, 8);
    } finally {
      await h.close();
    }
  });

  test("without a password set, login says how to set one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "corral-ui-empty-"));
    const ui = await createUiServer({ stateDir: dir, log: () => {} });
    try {
      const res = await login(ui);
      assert.equal(res.res.statusCode, 503);
      assert.match(res.res.json().error, /corral ui passwd/);
      assert.equal((await ui.app.inject({ url: "/api/session" })).json().passwordSet, false);
    } finally {
      await ui.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("logout ends the session", async () => {
    const h = await harness();
    try {
      const s = await login(h.ui);
      const out = await h.ui.app.inject({
        method: "POST",
        url: "/api/logout",
        headers: { cookie: s.header, "x-csrf-token": s.csrf! },
        payload: {},
      });
      assert.equal(out.statusCode, 200);
      assert.equal((await h.ui.app.inject({ url: "/api/graph", headers: { cookie: s.header } })).statusCode, 401);
    } finally {
      await h.close();
    }
  });
});

describe("CSRF", () => {
  let h: Harness;
  let s: Awaited<ReturnType<typeof login>>;
  before(async () => {
    h = await harness();
    s = await login(h.ui);
  });
  after(() => h.close());

  test("a state-changing request without the token, or with another session's token, is refused", async () => {
    const other = await login(h.ui);
    for (const headers of [
      { cookie: s.header },
      { cookie: s.header, "x-csrf-token": "" },
      { cookie: s.header, "x-csrf-token": other.csrf! },
    ]) {
      for (const url of ["/api/logout", "/api/approvals/abc/approve", "/api/approvals/abc/deny"]) {
        const res = await h.ui.app.inject({ method: "POST", url, headers, payload: { for: "1h" } });
        assert.equal(res.statusCode, 403, `${url} ${JSON.stringify(headers)}`);
        assert.match(res.json().error, /CSRF/);
      }
    }
    // The session survived the forged logout.
    assert.equal((await h.ui.app.inject({ url: "/api/graph", headers: { cookie: s.header } })).statusCode, 200);
  });

  test("a cross-origin POST is refused even with the token; form encodings are not accepted", async () => {
    const res = await h.ui.app.inject({
      method: "POST",
      url: "/api/logout",
      headers: { cookie: s.header, "x-csrf-token": s.csrf!, origin: "http://evil.example" },
      payload: {},
    });
    assert.equal(res.statusCode, 403);
    const loginForm = await h.ui.app.inject({
      method: "POST",
      url: "/api/login",
      headers: { "content-type": "text/plain" },
      payload: "password=x",
    });
    assert.equal(loginForm.statusCode, 415);
    const urlencoded = await h.ui.app.inject({
      method: "POST",
      url: "/api/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "password=x",
    });
    assert.equal(urlencoded.statusCode, 415);
    const crossLogin = await h.ui.app.inject({
      method: "POST",
      url: "/api/login",
      headers: { origin: "http://evil.example" },
      payload: { password: TEST_PASSWORD },
    });
    assert.equal(crossLogin.statusCode, 403);
  });
});

describe("approvals through the real gate's admin API", () => {
  const policy = parsePolicy(
    `version: 1
identities:
  agent: { source: [127.0.0.1/32] }
egress:
  - { from: agent, allow: [api.openai.com:443], approval: ask }
`,
    "corral.yaml",
  );
  let gate: Gate;
  let h: Harness;
  let s: Awaited<ReturnType<typeof login>>;
  let gateState: string;
  before(async () => {
    gateState = mkdtempSync(join(tmpdir(), "corral-ui-gate-"));
    gate = await Gate.start({
      loaded: policy,
      serve: { proxy: false, dns: false, admin: true },
      listen: { admin: { host: "127.0.0.1", port: 0 } },
      stateDir: gateState,
      logger: (await import("pino")).pino({ level: "silent" }),
    });
    // The admin token is read from the gate's state dir (admin.token), as `corral ui` does.
    const client = new GateClient({ baseUrl: `http://127.0.0.1:${gate.addresses.admin!.port}`, stateDir: gateState });
    h = await harness({ gate: client });
    s = await login(h.ui);
  });
  after(async () => {
    await h.close();
    await gate.close();
    rmSync(gateState, { recursive: true, force: true });
  });

  test("pending requests are listed; approving one (time-scoped) reaches the gate and is audited", async () => {
    const id = gate.approvals.request("agent", { name: "evil.example", port: 443 }, Date.now())!;
    const list = await h.ui.app.inject({ url: "/api/approvals", headers: { cookie: s.header } });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list
        .json()
        .approvals.map((a: { id: string; identity: string; destination: string }) => [a.id, a.identity, a.destination]),
      [[id, "agent", "evil.example:443"]],
    );
    const bad = await h.ui.app.inject({
      method: "POST",
      url: `/api/approvals/${id}/approve`,
      headers: { cookie: s.header, "x-csrf-token": s.csrf! },
      payload: { for: "1y" },
    });
    assert.equal(bad.statusCode, 400);
    const before = Date.now();
    const ok = await h.ui.app.inject({
      method: "POST",
      url: `/api/approvals/${id}/approve`,
      headers: { cookie: s.header, "x-csrf-token": s.csrf! },
      payload: { for: "15m" },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    const r = gate.approvals.get(id)!;
    assert.equal(r.status, "approved");
    assert.ok(r.expires! >= before + 15 * 60_000 && r.expires! <= Date.now() + 15 * 60_000);
    assert.equal(r.decidedBy, "ui:admin@127.0.0.1");
    assert.deepEqual(
      (await h.ui.app.inject({ url: "/api/approvals", headers: { cookie: s.header } })).json().approvals,
      [],
    );

    const id2 = gate.approvals.request("agent", { name: "other.example", port: 443 }, Date.now())!;
    const denied = await h.ui.app.inject({
      method: "POST",
      url: `/api/approvals/${id2}/deny`,
      headers: { cookie: s.header, "x-csrf-token": s.csrf! },
      payload: {},
    });
    assert.equal(denied.statusCode, 200);
    assert.equal(gate.approvals.get(id2)?.status, "denied");
    const missing = await h.ui.app.inject({
      method: "POST",
      url: "/api/approvals/00000000/deny",
      headers: { cookie: s.header, "x-csrf-token": s.csrf! },
      payload: {},
    });
    assert.equal(missing.statusCode, 404);

    const approvals = (await auditRecords(h)).filter((r) => r.kind === "approval");
    assert.deepEqual(
      approvals.map((r) => [r.data.id, r.data.verdict, r.data.for ?? null, r.data.ok]),
      [
        [id, "approve", "15m", true],
        [id2, "deny", null, true],
        ["00000000", "deny", null, false],
      ],
    );
  });
});

describe("TLS", { skip: hasCommand("openssl") ? false : "needs openssl to make a test certificate" }, () => {
  test("under TLS the cookie is Secure and __Host- prefixed, and HSTS is sent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "corral-ui-tls-"));
    try {
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ],
        { stdio: "ignore" },
      );
      const h = await harness({
        tls: { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) },
      });
      try {
        const res = await h.ui.app.inject({ url: "/login" });
        assert.equal(res.headers["strict-transport-security"], "max-age=31536000; includeSubDomains");
        const s = await login(h.ui);
        assert.equal(s.cookie?.name, "__Host-corral_session");
        assert.equal(s.cookie?.secure, true);
        assert.equal(s.cookie?.httpOnly, true);
      } finally {
        await h.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Host header (DNS rebinding)", () => {
  test("only IP literals, localhost and configured names are served", async () => {
    const h = await harness({ hostnames: ["dash.example.org"] });
    try {
      for (const host of [
        "127.0.0.1:9443",
        "localhost:9443",
        "[::1]:9443",
        "dash.example.org",
        "DASH.example.org:9443",
      ]) {
        assert.equal((await h.ui.app.inject({ url: "/login", headers: { host } })).statusCode, 200, host);
      }
      for (const host of ["evil.example", "evil.example:9443", "2130706433", "127.0.0.1.nip.io"]) {
        const res = await h.ui.app.inject({ url: "/login", headers: { host } });
        assert.equal(res.statusCode, 421, host);
        assert.equal(res.headers["x-frame-options"], "DENY");
      }
    } finally {
      await h.close();
    }
  });
});

describe("event stream, alerts, audit state and sandbox runs", () => {
  test("the stream sends the backlog then live events, and ends when the session does", async () => {
    const h = await harness();
    try {
      const url = await h.ui.listen("127.0.0.1", 0);
      const s = await login(h.ui);
      h.ui.hub.publish({
        type: "decision",
        time: "2026-01-01T00:00:00Z",
        identity: "celery",
        destination: "evil.example:443",
        verdict: "deny",
      });
      const res = await fetch(`${url}/api/events`, { headers: { cookie: s.header } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
      assert.equal(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      const readUntil = async (needle: string) => {
        while (!text.includes(needle)) {
          const { value, done } = await reader.read();
          if (done) return false;
          text += decoder.decode(value, { stream: true });
        }
        return true;
      };
      assert.ok(await readUntil("evil.example:443"));
      assert.match(text, /id: 1\nevent: decision\ndata: \{.*"identity":"celery"/);
      h.ui.hub.publish({ type: "alert", time: "2026-01-01T00:00:01Z", kind: "deny_burst", message: "multi\nline" });
      assert.ok(await readUntil("deny_burst"));
      assert.match(text, /event: alert\ndata: \{[^\n]*"message":"multi\\nline"[^\n]*\}\n\n/);
      const alerts = await h.ui.app.inject({ url: "/api/alerts", headers: { cookie: s.header } });
      assert.equal(alerts.json().alerts[0].kind, "deny_burst");
      await h.ui.app.inject({
        method: "POST",
        url: "/api/logout",
        headers: { cookie: s.header, "x-csrf-token": s.csrf! },
        payload: {},
      });
      assert.equal(await readUntil("never arrives"), false, "the stream ended with the session");
    } finally {
      await h.close();
    }
  });

  test("what was observed and the suggested change come from the injected function; without one it says so", async () => {
    const view = {
      zones: [{ zone: "agents", mode: "observe" as const }],
      flows: [
        {
          from: "worker",
          to: "db",
          protocol: "tcp",
          port: 5432,
          kind: "observe" as const,
          count: 3,
          first: "2026-12-04T01:00:00.000Z",
          last: "2026-12-04T02:00:00.000Z",
        },
      ],
      egress: [{ identity: "api", destination: "api.anthropic.com:443", count: 7 }],
      diff: "+  - { from: worker, to: db, ports: [5432/tcp] }\n",
      left: [],
    };
    const h = await harness({ observed: async () => view });
    const bare = await harness();
    try {
      const s = await login(h.ui);
      assert.deepEqual((await h.ui.app.inject({ url: "/api/observed", headers: { cookie: s.header } })).json(), {
        view,
      });
      const b = await login(bare.ui);
      const none = (await bare.ui.app.inject({ url: "/api/observed", headers: { cookie: b.header } })).json();
      assert.equal(none.view, null);
      assert.match(none.note, /no policy/);
    } finally {
      await h.close();
      await bare.close();
    }
  });

  test("audit state and sandbox runs come from the injected functions; absent ones say so", async () => {
    const state = {
      status: "valid" as const,
      records: 12,
      lastSeq: 12,
      unverified: 2,
      lastCheckpoint: { seq: 10, time: "2026-01-01T00:00:00Z", hash: "ab".repeat(32) },
      checkedAt: "2026-01-01T00:00:05Z",
    };
    let asked = 0;
    const h = await harness({
      auditState: async () => state,
      sandboxRuns: async (limit) => {
        asked = limit;
        return [{ seq: 3, time: "t", identity: "plugin-runs", data: { profile: "plugin", exit: 0 } }];
      },
    });
    const bare = await harness();
    try {
      const s = await login(h.ui);
      assert.deepEqual((await h.ui.app.inject({ url: "/api/audit", headers: { cookie: s.header } })).json(), { state });
      const runs = await h.ui.app.inject({ url: "/api/sandbox-runs?limit=9999", headers: { cookie: s.header } });
      assert.equal(runs.json().runs[0].identity, "plugin-runs");
      assert.equal(asked, 500);
      const b = await login(bare.ui);
      assert.equal((await bare.ui.app.inject({ url: "/api/audit", headers: { cookie: b.header } })).json().state, null);
      assert.equal(
        (await bare.ui.app.inject({ url: "/api/sandbox-runs", headers: { cookie: b.header } })).json().runs,
        null,
      );
      assert.equal(
        (await bare.ui.app.inject({ url: "/api/approvals", headers: { cookie: b.header } })).statusCode,
        503,
      );
    } finally {
      await h.close();
      await bare.close();
    }
  });
});
