// Credential brokering end to end on loopback, through `corral gate` as users run it: an agent
// that only holds its placeholder reaches a TLS origin with its own CA (made by openssl), the
// origin receives the real key, and every other use of the placeholder is refused and alerted.
// The real value must never show in a log line, an audit record, the metrics, or a response.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { main } from "../../cli/main.ts";
import { placeholderFor } from "../../policy/placeholder.ts";
import { privilegedSkip } from "../../testing/privileged.ts";
import { textSink } from "../../testing/text-sink.ts";
import {
  httpsViaProxy,
  makeOriginPki,
  type OriginPki,
  startTlsOrigin,
  type TlsOrigin,
} from "../../testing/tls-origin.ts";
import { waitFor } from "../../testing/wait.ts";
import { freePort, type Origin, rawRequest, startDnsUpstream, startOrigin } from "../testkit.ts";

const skip = privilegedSkip({ root: false });
const run = promisify(execFile);

const sink = textSink;

const REAL = "sk-real-0123456789abcdefREALKEYvalue";
const ROTATED = "sk-real-rotated-9876543210ROTATEDkey";
const AFTER_HUP = "sk-real-after-sighup-55555HUPkey";

describe("credential brokering through a terminated tunnel", { skip, timeout: 120_000 }, () => {
  let dir: string;
  let pki: OriginPki;
  let origin: TlsOrigin;
  let old: TlsOrigin;
  let plain: Origin;
  let upstream: Awaited<ReturnType<typeof startDnsUpstream>>;
  let stop: AbortController;
  let running: Promise<number>;
  let out: ReturnType<typeof sink>;
  let policyFile: string;
  let keyFile: string;
  let gateCa: string;
  let pp = 0;
  let ap = 0;
  const log = () => readFileSync(join(dir, "decisions.jsonl"), "utf8");
  const lines = () =>
    log()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const placeholder = placeholderFor("brokertest", "llm", "agent", "openai");
  const policy = (valueFile: string) => `version: 1
project: brokertest
identities:
  agent: { source: [127.0.0.1/32] }
  other: { source: [127.0.0.7/32] }
egress:
  - from: agent
    allow: ["api.llm.test:${origin.port}", "other.test:${origin.port}", "old.test:${old.port}", "plain.test:${plain.port}"]
  - from: other
    allow: ["api.llm.test:${origin.port}"]
credentials:
  llm:
    value: { file: ${JSON.stringify(valueFile)} }
    agent_env: OPENAI_API_KEY
    for: agent
    to: { host: api.llm.test, port: ${origin.port}, methods: [POST, GET], paths: [/v1/chat/completions, /v1/models] }
    send: bearer
requests:
  - from: agent
    host: api.llm.test
    port: ${origin.port}
    allow: ["POST /v1/chat/completions", "GET /v1/models", "POST /v1/files"]
    deny: ["* /v1/files"]
  - from: agent
    host: other.test
    port: ${origin.port}
    allow: ["* /"]
  - from: agent
    host: old.test
    port: ${old.port}
    allow: ["* /"]
floor:
  allow_ranges: [127.0.0.2/32, 127.0.0.3/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 500ms, retries: 1 }
gate:
  listen: { proxy: "127.0.0.1:${pp}", dns: "127.0.0.1:0", admin: "127.0.0.1:${ap}" }
  state_dir: ${JSON.stringify(join(dir, "state"))}
audit:
  path: ${JSON.stringify(join(dir, "audit"))}
`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "corral-broker-"));
    pki = makeOriginPki(dir, ["api.llm.test", "other.test", "old.test"]);
    origin = await startTlsOrigin("127.0.0.2", pki);
    old = await startTlsOrigin("127.0.0.2", pki, { maxVersion: "TLSv1.2" });
    plain = await startOrigin("127.0.0.3");
    upstream = await startDnsUpstream((name, type) => {
      if (type !== "A") return { ttl: 60 };
      return name === "plain.test" ? { A: ["127.0.0.3"], ttl: 60 } : { A: ["127.0.0.2"], ttl: 60 };
    });
    [pp, ap] = [await freePort(), await freePort()];
    mkdirSync(join(dir, "secrets"));
    keyFile = join(dir, "secrets", "llm");
    writeFileSync(keyFile, `${REAL}\n`, { mode: 0o600 });
    policyFile = join(dir, "corral.yaml");
    writeFileSync(policyFile, policy(keyFile));
    stop = new AbortController();
    out = sink();
    running = main(
      [
        "gate",
        "--policy",
        policyFile,
        "--log",
        join(dir, "decisions.jsonl"),
        "--upstream-ca",
        pki.caFile,
        "--ca-out",
        join(dir, "ca-out"),
        "--no-watch",
      ],
      { stdout: out.stream, stderr: out.stream, stopSignal: stop.signal, cwd: dir, env: {} },
    );
    await waitFor(
      "the gate",
      async () => (await fetch(`http://127.0.0.1:${ap}/readyz`).catch(() => undefined))?.status === 200,
    );
    gateCa = readFileSync(join(dir, "ca-out", "ca.crt"), "utf8");
  });

  after(async () => {
    stop?.abort();
    await running?.catch(() => {});
    await Promise.all([origin?.close(), old?.close(), plain?.close(), upstream?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** curl through the gate to the bound host's /v1/models, trusting `cacert`. */
  const curl = (cacert: string, args: string[] = []) =>
    run("curl", [
      "-sS",
      "--max-time",
      "10",
      "-x",
      `http://127.0.0.1:${pp}`,
      "--cacert",
      cacert,
      ...args,
      `https://api.llm.test:${origin.port}/v1/models`,
    ]);

  const chat = (extra: Partial<Parameters<typeof httpsViaProxy>[0]> = {}) =>
    httpsViaProxy({
      proxyPort: pp,
      host: "api.llm.test",
      port: origin.port,
      ca: gateCa,
      method: "POST",
      path: "/v1/chat/completions",
      headers: { Authorization: `Bearer ${placeholder}`, "Content-Type": "application/json" },
      body: '{"model":"m","messages":[]}',
      ...extra,
    });

  test("the CA is made once in the state directory, key 0600, and published with a bundle", () => {
    const st = readdirSync(join(dir, "state", "ca"));
    assert.deepEqual(st.sort(), ["ca.crt", "ca.key"]);
    const mode = statSync(join(dir, "state", "ca", "ca.key")).mode & 0o777;
    assert.equal(mode, 0o600);
    const bundle = readFileSync(join(dir, "ca-out", "bundle.pem"), "utf8");
    assert.ok(bundle.endsWith(gateCa), "the bundle ends with the gate CA");
    assert.ok((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length > 50, "and holds the public roots");
  });

  test("the origin receives the real key from an agent that sent only its placeholder", async () => {
    const r = await chat();
    assert.equal(r.connect, 200);
    assert.equal(r.status, 200, r.text);
    const seen = origin.requests.at(-1)!;
    assert.equal(seen.headers.authorization, `Bearer ${REAL}`);
    assert.equal(seen.url, "/v1/chat/completions");
    assert.equal(seen.body, '{"model":"m","messages":[]}');
    assert.equal(seen.protocol, "TLSv1.3", "the upstream is not weaker than the client's TLS 1.3");
    await waitFor("the request's line", () => lines().some((l) => l["event.action"] === "gate-https"));
    const line = lines().find((l) => l["event.action"] === "gate-https" && l["corral.credentials"]);
    assert.ok(line, "one line for the request inside the tunnel");
    assert.deepEqual(line["corral.credentials"], ["llm"]);
    assert.equal(line["corral.reason_code"], "brokered");
    assert.equal(line["url.path"], "/v1/chat/completions");
    assert.equal(line["http.request.method"], "POST");
  });

  test("with a real key on it, the request carries the destination's own Host spelling", async () => {
    const r = await chat({ headers: { Host: `API.LLM.test:${origin.port}`, Authorization: `Bearer ${placeholder}` } });
    assert.equal(r.status, 200, r.text);
    assert.equal(origin.requests.at(-1)!.headers.host, `api.llm.test:${origin.port}`);
  });

  test("curl, trusting the published bundle, gets through the same way", async () => {
    const before = origin.requests.length;
    const { stdout } = await curl(join(dir, "ca-out", "bundle.pem"), ["-H", `Authorization: Bearer ${placeholder}`]);
    assert.match(stdout, /"ok":true/);
    assert.equal(origin.requests.length, before + 1);
    assert.equal(origin.requests.at(-1)!.headers.authorization, `Bearer ${REAL}`);
  });

  test("the placeholder anywhere else is refused and raises an alert", async () => {
    const before = origin.requests.length;
    const alerts = () => lines().filter((l) => l["event.action"] === "credential_exfiltration").length;
    const alertsBefore = alerts();
    // Another allowed, terminated host.
    const elsewhere = await httpsViaProxy({
      proxyPort: pp,
      host: "other.test",
      port: origin.port,
      ca: gateCa,
      headers: { Authorization: `Bearer ${placeholder}` },
    });
    assert.equal(elsewhere.status, 403, elsewhere.text);
    assert.match(elsewhere.text, /credential exfiltration attempt: llm: placeholder sent to other\.test/);
    // A plain HTTP forward to an allowed host.
    const forward = await rawRequest(
      pp,
      `GET http://plain.test:${plain.port}/ HTTP/1.1\r\nHost: plain.test:${plain.port}\r\nX-Key: ${placeholder}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(forward.status, 403);
    assert.equal(plain.requests.length, 0);
    // In the query string, toward the bound host.
    const query = await chat({ path: `/v1/chat/completions?key=${placeholder}` });
    assert.equal(query.status, 403, query.text);
    // In the body, split so no single chunk holds it whole.
    const body = await chat({ body: `{"prompt":"${placeholder}"}`, headers: { "Content-Type": "application/json" } });
    assert.equal(body.status, 403, body.text);
    // Chunked, the placeholder split across two chunks: the scanner reads the body, not the framing.
    const half = Math.floor(placeholder.length / 2);
    const chunk = (t: string) => `${t.length.toString(16)}\r\n${t}\r\n`;
    const chunked = await chat({
      headers: { Authorization: `Bearer ${placeholder}`, "Transfer-Encoding": "chunked" },
      rawBody: `${chunk(`{"p":"${placeholder.slice(0, half)}`)}${chunk(`${placeholder.slice(half)}"}`)}0\r\n\r\n`,
    });
    assert.equal(chunked.status, 403, chunked.text);
    // In a chunked trailer field.
    const trailer = await chat({
      headers: { Authorization: `Bearer ${placeholder}`, "Transfer-Encoding": "chunked" },
      rawBody: `${chunk("{}")}0\r\nX-Key: ${placeholder}\r\n\r\n`,
    });
    assert.equal(trailer.status, 403, trailer.text);
    assert.equal(origin.requests.length, before, "none of them reached the origin");
    // The bound host and port over plain HTTP: the key would go out in clear.
    const clear = await rawRequest(
      pp,
      `POST http://api.llm.test:${origin.port}/v1/chat/completions HTTP/1.1\r\nHost: api.llm.test:${origin.port}\r\nAuthorization: Bearer ${placeholder}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(clear.status, 403, clear.text);
    assert.match(clear.text, /over plain HTTP/);
    // Another identity presenting the agent's placeholder.
    const stolen = await chat({ localAddress: "127.0.0.7" });
    assert.equal(stolen.status, 403, stolen.text);
    assert.match(stolen.text, /credential not permitted for this identity/);
    await waitFor("one alert per misuse", () => alerts() >= alertsBefore + 8);
    const codes = lines().map((l) => l["corral.reason_code"]);
    assert.ok(codes.filter((c) => c === "credential-exfiltration").length >= 4, codes.join(","));
  });

  test("request rules: a path or method outside them is refused", async () => {
    const before = origin.requests.length;
    const files = await chat({ path: "/v1/files" });
    assert.equal(files.status, 403);
    assert.match(files.text, /request denied by/);
    const del = await chat({ method: "DELETE", path: "/v1/chat/completions", body: "" });
    assert.equal(del.status, 403);
    assert.match(del.text, /request not in the destination's request rules/);
    // Spellings a server decodes before routing: an encoded letter, `;` parameters.
    for (const path of ["/v1/fil%65s", "/v1/chat/completions/..;/files", "/v1/files;x"]) {
      const sneaky = await chat({ path });
      assert.equal(sneaky.status, 403, path);
      assert.match(sneaky.text, /ambiguous request path/, path);
    }
    const dots = await chat({ path: "/v1/chat/completions/../../admin" });
    assert.equal(dots.status, 403);
    assert.match(dots.text, /ambiguous request path/);
    assert.equal(origin.requests.length, before);
  });

  test("upstream TLS: never below the client's version, and verified", async () => {
    // The client got TLS 1.3 from the gate; this origin stops at 1.2: refused, not downgraded.
    const down = await httpsViaProxy({ proxyPort: pp, host: "old.test", port: old.port, ca: gateCa });
    assert.equal(down.status, 502, down.text);
    const ok = await httpsViaProxy({
      proxyPort: pp,
      host: "old.test",
      port: old.port,
      ca: gateCa,
      maxVersion: "TLSv1.2",
    });
    assert.equal(ok.status, 200, ok.text);
    // A client that does not trust the gate's CA (curl with the origin's CA only) refuses the
    // handshake, and the CONNECT's line says why.
    await assert.rejects(curl(pki.caFile), /certificate/);
    await waitFor("the handshake failure logged", () => log().includes("TLS handshake with the client failed"));
  });

  test("a rotated value is used from the next request: file change, then SIGHUP", async () => {
    writeFileSync(`${keyFile}.new`, `${ROTATED}\n`, { mode: 0o600 });
    // Replaced by rename, as secret managers do.
    renameSync(`${keyFile}.new`, keyFile);
    await waitFor("the rotated value", async () => {
      await chat();
      return origin.requests.at(-1)?.headers.authorization === `Bearer ${ROTATED}`;
    });
    // The policy now reads another file; --no-watch: only SIGHUP applies it.
    const second = join(dir, "secrets", "llm-2");
    writeFileSync(second, AFTER_HUP, { mode: 0o600 });
    writeFileSync(policyFile, policy(second));
    process.kill(process.pid, "SIGHUP");
    await waitFor("the value after SIGHUP", async () => {
      await chat();
      return origin.requests.at(-1)?.headers.authorization === `Bearer ${AFTER_HUP}`;
    });
  });

  test("no real value in the log, the audit records, the metrics or the output", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${ap}/metrics`)).text();
    const auditText = readdirSync(join(dir, "audit"))
      .map((f) => {
        try {
          return readFileSync(join(dir, "audit", f), "utf8");
        } catch {
          return "";
        }
      })
      .join("\n");
    assert.match(auditText, /"credentials":\["llm"\]/, "the brokered uses are audit records");
    for (const secret of [REAL, ROTATED, AFTER_HUP])
      for (const [where, text] of [
        ["log", log()],
        ["audit", auditText],
        ["metrics", metrics],
        ["output", out.text()],
      ] as const)
        assert.ok(!text.includes(secret), `${where} holds a real value`);
  });
});
