// The admin API's request checks, on a real fastify listener on loopback, through raw HTTP (what
// an attacker or a broken script sends) and through the typed client (what Corral itself sends).
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { parsePolicy } from "../../policy/index.ts";
import { Gate } from "../gate.ts";
import { GateAdminClient, GateAdminError } from "./client.ts";
import { APPROVAL_ID } from "./schemas.ts";

const POLICY = parsePolicy(
  "version: 1\nidentities:\n  agent: { source: [127.0.0.1/32], token_env: AGENT_TOKEN }\negress:\n  - { from: agent, allow: [pypi.org:443], approval: ask }\n",
  "corral.yaml",
);

let gate: Gate;
let port: number;
before(async () => {
  gate = await Gate.start({
    loaded: POLICY,
    serve: { proxy: false, dns: false, admin: true },
    listen: { admin: { host: "127.0.0.1", port: 0 } },
    logger: pino({ level: "silent" }),
  });
  port = gate.addresses.admin!.port;
});
after(() => gate.close());

/** One raw request: any Host, any body, any content type. */
function raw(
  method: string,
  path: string,
  opts: { host?: string; body?: string; type?: string; auth?: boolean } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: opts.host ?? `127.0.0.1:${port}` };
    if (opts.auth !== false) headers.authorization = `Bearer ${gate.adminToken}`;
    if (opts.type) headers["content-type"] = opts.type;
    const req = http.request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

test("a Host that is a domain name is refused before anything else (DNS rebinding)", async () => {
  assert.equal((await raw("GET", "/healthz", { host: "evil.example:9099" })).status, 421);
  assert.equal((await raw("GET", "/healthz", { host: "localhost:9099" })).status, 200);
  assert.equal((await raw("GET", "/healthz", { host: "[::1]:9099" })).status, 200);
});

test("bodies are checked by the schemas: each refusal says what was wrong", async () => {
  const json = "application/json";
  const badId = await raw("POST", "/approvals/XYZ/approve", { type: json, body: "{}" });
  assert.equal(badId.status, 400);
  assert.match(badId.body, /id: an approval id is 1-32 hex digits/);
  const badVerb = await raw("POST", "/approvals/abc/delete", { type: json, body: "{}" });
  assert.equal(badVerb.status, 400);
  assert.match(badVerb.body, /verb/);
  const badFor = await raw("POST", "/approvals/abc/approve", { type: json, body: '{"forMs":-1}' });
  assert.equal(badFor.status, 400);
  assert.match(badFor.body, /forMs/);
  assert.equal((await raw("POST", "/approvals/abc/approve", { type: json, body: "{" })).status, 400);
  assert.equal((await raw("POST", "/approvals/abc/approve", { type: json, body: "" })).status, 404, "empty is {}");
  const form = await raw("POST", "/approvals/abc/approve", { type: "text/plain", body: "{}" });
  assert.equal(form.status, 415, "a form post from a browser is not JSON");
  const big = await raw("POST", "/audit/records", { type: json, body: `{"x":"${"a".repeat(20000)}"}` });
  assert.equal(big.status, 413);
  const run = await raw("POST", "/identities/ephemeral", { type: json, body: '{"parent":"agent","run":"-x"}' });
  assert.equal(run.status, 400);
  assert.match(run.body, /run: a run id is/);
  assert.equal((await raw("GET", "/nowhere")).status, 404);
  assert.equal((await raw("GET", "/approvals", { auth: false })).status, 401);
});

test("the typed client: answers parsed, gate errors carry their status, bad ids never sent", async () => {
  const client = new GateAdminClient({ baseUrl: `http://127.0.0.1:${port}`, token: gate.adminToken });
  assert.deepEqual(await client.health(), { status: "ok" });
  const ready = await client.ready();
  assert.equal(ready.status, "ready");
  assert.deepEqual(await client.approvals(), []);
  const id = gate.approvals.request("agent", { name: "pypi.org", port: 443 }, Date.now());
  assert.match(id ?? "", APPROVAL_ID, "what the gate mints passes the one id rule");
  const approved = await client.approve(id!, 60_000, "test");
  assert.equal(approved.status, "approved");
  assert.equal(approved.decidedBy?.startsWith("test"), true);
  await assert.rejects(client.deny("0123abcd", "test"), (e: GateAdminError) => e.status === 404);
  await assert.rejects(client.approve("../metrics", 1, "x"), (e: GateAdminError) => e.status === 400);
  const anon = new GateAdminClient({ baseUrl: `http://127.0.0.1:${port}` });
  await assert.rejects(anon.approvals(), (e: GateAdminError) => e.status === 401 && /admin token/.test(e.message));
  const gone = new GateAdminClient({ baseUrl: "http://127.0.0.1:1", timeoutMs: 1000 });
  await assert.rejects(gone.health(), (e: GateAdminError) => e instanceof GateAdminError && e.status === undefined);
});
