// The dashboard in a real browser (Debian's chromium driven by playwright-core) against the
// real gate: log in, see the SuperAGI zone graph, watch a gate decision arrive in the feed,
// approve the pending request and see the next request pass, have a forged POST refused, and
// lock the account with five wrong passwords. Loopback only.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import dnsPacket from "dns-packet";
import { pino } from "pino";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type AuditRecord, type AuditSink, openAuditSink, readRecords } from "../audit/index.ts";
import { Gate } from "../gate/gate.ts";
import { readDeployment } from "../model/load.ts";
import { computeReachability, serviceId } from "../model/reachability.ts";
import { loadPolicy, parsePolicy } from "../policy/index.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { GateClient } from "./gate-client.ts";
import type { GraphInput } from "./graph.ts";
import { createUiServer, type UiServer } from "./server.ts";
import { stateWithPassword, TEST_PASSWORD } from "./testing.ts";

const skip = privilegedSkip({ root: false, commands: ["chromium"] });
const ARTIFACTS = join(PROJECT_ROOT, "test-artifacts");
const EXAMPLE = join(PROJECT_ROOT, "examples", "superagi");

// The gate's policy for this test: the SuperAGI agent zone may ask for approval; names under
// corral.test resolve (through a DNS server on loopback) to a loopback server that stands in
// for "the internet", which the floor lets the gate reach.
const gatePolicy = (dnsPort: number) => `version: 1
zones:
  agents: { services: [celery], isolate: per-service }
egress:
  - from: agents
    allow: [api.openai.com:443]
    approval: ask
floor:
  allow_ranges: [127.0.0.0/8]
dns:
  upstreams: ["127.0.0.1:${dnsPort}"]
`;

/** A DNS server on loopback: every A question under corral.test is answered 127.0.0.1. */
async function startDns(): Promise<dgram.Socket> {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    const ours = question?.name.endsWith(".corral.test") ?? false;
    const answers: dnsPacket.Answer[] =
      ours && question?.type === "A" ? [{ type: "A", name: question.name, ttl: 60, data: "127.0.0.1" }] : [];
    const reply = dnsPacket.encode({
      id: q.id,
      type: "response",
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (ours ? 0 : 3),
      questions: q.questions ?? [],
      answers,
    });
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return sock;
}

interface World {
  gate: Gate;
  ui: UiServer;
  url: string;
  target: http.Server;
  targetPort: number;
  evil: http.Server;
  evilPort: number;
  dns: dgram.Socket;
  audit: AuditSink;
  dirs: string[];
  context: BrowserContext;
  page: Page;
}
let w: World;

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
}

/** CONNECT through the gate's proxy; resolves to the proxy's status code. */
function connectThroughGate(proxyPort: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: proxyPort, method: "CONNECT", path: target });
    req.on("connect", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("proxy did not answer")));
    req.end();
  });
}

async function graphInput(): Promise<GraphInput> {
  const { policy } = await loadPolicy(join(EXAMPLE, "corral.yaml"));
  const deployment = readDeployment([join(EXAMPLE, "docker-compose.yml")], { env: {} });
  const reach = computeReachability(deployment);
  return {
    policy,
    services: deployment.services.map((s) => ({ name: serviceId(s), labels: s.labels })),
    reach: reach.edges.map((e) => ({ from: e.from, to: e.to, ports: e.ports })),
  };
}

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const state = await stateWithPassword();
  const gateState = mkdtempSync(join(tmpdir(), "corral-ui-gate-"));
  const auditDir = mkdtempSync(join(tmpdir(), "corral-ui-audit-"));
  const profile = mkdtempSync(join(tmpdir(), "corral-ui-chromium-"));
  const dns = await startDns();
  const gate = await Gate.start({
    loaded: parsePolicy(gatePolicy(dns.address().port), "gate-test.yaml"),
    serviceMap: { celery: "127.0.0.1" },
    serve: { proxy: true, dns: false, admin: true },
    listen: { proxy: { host: "127.0.0.1", port: 0 }, admin: { host: "127.0.0.1", port: 0 } },
    stateDir: gateState,
    env: {},
    logger: pino({ level: "silent" }),
  });
  const target = http.createServer((_req, res) => res.end("the internet\n"));
  // A page on another origin that tries to approve a request by auto-submitting a form.
  const evil = http.createServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(
      `<form id="f" method="POST" enctype="text/plain" action="${w.url}/api/approvals/${(w as { forgeId?: string }).forgeId ?? "x"}/approve"><input name='{"for":"24h","x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`,
    );
  });
  const audit = await openAuditSink({ dir: auditDir, fsync: "none" });
  const ui = await createUiServer({
    stateDir: state.dir,
    graph: graphInput,
    gate: new GateClient({ baseUrl: `http://127.0.0.1:${gate.addresses.admin!.port}`, stateDir: gateState }),
    audit,
    observed: async () => ({
      zones: [
        { zone: "agents", mode: "observe" },
        { zone: "data", mode: "enforce" },
      ],
      flows: [
        {
          from: "worker",
          to: "<img src=x onerror=window.__xss=2>",
          protocol: "tcp",
          port: 5432,
          kind: "observe",
          count: 3,
          first: "2026-12-04T01:00:00.000Z",
          last: "2026-12-04T02:00:00.000Z",
        },
      ],
      egress: [{ identity: "api", destination: "api.anthropic.com:443", count: 7 }],
      diff: "+  - { from: worker, to: db, ports: [5432/tcp] }\n",
      left: [],
    }),
    lockout: { lockMs: 60_000 },
    log: () => {},
  });
  const url = await ui.listen("127.0.0.1", 0);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  w = {
    gate,
    ui,
    url,
    target,
    targetPort: await listen(target),
    evil,
    evilPort: await listen(evil),
    dns,
    audit,
    dirs: [state.dir, gateState, auditDir, profile],
    context,
    page,
  };
});

after(async () => {
  if (!w) return;
  await w.context.close().catch(() => {});
  await w.ui.close();
  await w.gate.close();
  await w.audit.close().catch(() => {});
  w.target.close();
  w.evil.close();
  w.dns.close();
  for (const d of w.dirs) rmSync(d, { recursive: true, force: true });
});

test("log in and see the SuperAGI zone graph", { skip }, async () => {
  const { page, url } = w;
  await page.goto(`${url}/`);
  await page.waitForURL(`${url}/login`);
  await page.fill("#password", TEST_PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(`${url}/`);
  await page.waitForSelector("#zone-graph");
  const zones = await page.$$eval("#zone-graph .zone", (gs) => gs.map((g) => g.getAttribute("data-zone")));
  assert.deepEqual(zones, ["web", "api", "agents", "data"]);
  const services = await page.$$eval("#zone-graph .service", (gs) =>
    gs.map((g) => g.getAttribute("data-service")).sort(),
  );
  assert.deepEqual(services, ["backend", "celery", "gui", "proxy", "super__postgres", "super__redis"]);
  const declared = await page.$$eval("#zone-graph path.edge.declared", (ps) =>
    ps.map((p) => `${p.getAttribute("data-from")}>${p.getAttribute("data-to")}`),
  );
  assert.ok(declared.includes("proxy>gui") && declared.includes("backend>super__postgres"), declared.join(" "));
  // SuperAGI's one flat network lets everything reach everything: most pairs are excess, in red.
  const excess = await page.$$eval("#zone-graph path.edge.excess", (ps) =>
    ps.map((p) => `${p.getAttribute("data-from")}>${p.getAttribute("data-to")}`),
  );
  assert.ok(excess.includes("celery>proxy") && excess.includes("gui>super__postgres"), excess.join(" "));
  const stroke = await page.$eval(
    "#zone-graph path.edge.excess",
    (p) => p.ownerDocument.defaultView!.getComputedStyle(p).stroke,
  );
  assert.equal(stroke, "rgb(198, 40, 40)");
  await page.locator("#graph").screenshot({ path: join(ARTIFACTS, "ui-graph.png") });
});

test("the observed panel lists what the policy would deny and shows the suggested change, as text", {
  skip,
}, async () => {
  const { page } = w;
  const row = page.locator("#observed-rows tr", { hasText: "worker" }).first();
  await row.waitFor({ timeout: 5000 });
  assert.match((await row.textContent()) ?? "", /5432\/tcp.*3.*let through \(observe\)/);
  assert.equal(await row.locator("td.destination").textContent(), "<img src=x onerror=window.__xss=2>");
  assert.equal(await page.evaluate("window.__xss"), undefined);
  assert.ok(await page.locator("#observed-rows tr", { hasText: "api.anthropic.com:443" }).count());
  assert.match((await page.locator("#observed-note").textContent()) ?? "", /zones: agents observe, data enforce/);
  assert.match(
    (await page.locator("#observed-diff").textContent()) ?? "",
    /from: worker, to: db, ports: \[5432\/tcp\]/,
  );
});

test("a gate decision appears in the feed within a second; names are shown as text, never markup", {
  skip,
}, async () => {
  const { page, gate, targetPort } = w;
  const destination = `agent-target.corral.test:${targetPort}`;
  const t0 = performance.now();
  assert.equal(await connectThroughGate(gate.addresses.proxy!.port, destination), 403);
  const row = page.locator("#feed-rows tr.decision.deny", { hasText: destination }).first();
  await row.waitFor({ timeout: 1000 });
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 1000, `${elapsed} ms`);
  process.stdout.write(`# decision → feed row: ${elapsed.toFixed(0)} ms\n`);
  assert.match((await row.locator("td.identity").textContent()) ?? "", /celery/);

  // Attacker-chosen names, pushed through the server's event source.
  const xss = `<img src=x onerror="window.__xss=1">"><script>window.__xss=2</script>`;
  w.ui.hub.publish({
    type: "decision",
    time: new Date().toISOString(),
    identity: xss,
    destination: `${xss}:443`,
    verdict: "deny",
    rule: xss,
    reason: xss,
  });
  w.ui.hub.publish({
    type: "alert",
    time: new Date().toISOString(),
    kind: "deny_burst",
    identity: xss,
    message: `20 denials from ${xss}`,
  });
  const evilRow = page.locator("#feed-rows tr.decision", { hasText: "window.__xss=1" }).first();
  await evilRow.waitFor({ timeout: 1000 });
  assert.equal(await evilRow.locator("td.identity").textContent(), xss);
  await page.locator("#alert-list li.alert", { hasText: "window.__xss=2" }).first().waitFor({ timeout: 1000 });
  assert.equal(await page.evaluate("window.__xss"), undefined);
  assert.equal(await page.locator("#feed img, #alerts img, #feed-rows script").count(), 0);

  // Filters: by verdict and identity.
  await page.selectOption("#feed-filter select[name=verdict]", "allow");
  assert.equal(await page.locator("#feed-rows tr.decision").count(), 0);
  await page.selectOption("#feed-filter select[name=verdict]", "deny");
  await page.fill("#feed-filter input[name=identity]", "celery");
  assert.equal(await page.locator("#feed-rows tr.decision").count(), 1);
  await page.fill("#feed-filter input[name=destination]", "no-such-host");
  assert.equal(await page.locator("#feed-rows tr.decision").count(), 0);
  await page.fill("#feed-filter input[name=destination]", "");
  await page.fill("#feed-filter input[name=identity]", "");
  await page.selectOption("#feed-filter select[name=verdict]", "");
});

test("approve the pending destination for 15 minutes; the next request passes", { skip }, async () => {
  const { page, gate, targetPort } = w;
  const destination = `agent-target.corral.test:${targetPort}`;
  const row = page.locator("#approval-rows tr.approval", { hasText: destination });
  await row.waitFor({ timeout: 6000 });
  const id = await row.getAttribute("data-id");
  assert.ok(id);
  await row.locator("select[name=for]").selectOption("15m");
  const t = Date.now();
  await row.locator("button.approve").click();
  await row.waitFor({ state: "detached", timeout: 3000 });
  const r = gate.approvals.get(id)!;
  assert.equal(r.status, "approved");
  assert.ok(Math.abs(r.expires! - (t + 15 * 60_000)) < 5000);
  assert.equal(r.decidedBy, "ui:admin@127.0.0.1");
  assert.equal(await connectThroughGate(gate.addresses.proxy!.port, destination), 200);
  await page.locator("#feed-rows tr.decision.allow", { hasText: destination }).first().waitFor({ timeout: 1000 });
  await page.locator("#feed").screenshot({ path: join(ARTIFACTS, "ui-feed.png") });
  await page.screenshot({ path: join(ARTIFACTS, "ui-dashboard.png"), fullPage: true });
});

test("forged POSTs are refused: no CSRF token, or from another origin", { skip }, async () => {
  const { page, gate, url, targetPort } = w;
  const noToken = await page.evaluate(async () => {
    const res = await fetch("/api/logout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    return res.status;
  });
  assert.equal(noToken, 403);
  // Still logged in: the forged logout did nothing.
  assert.equal(
    await page.evaluate(
      async () => ((await (await fetch("/api/session")).json()) as { authenticated: boolean }).authenticated,
    ),
    true,
  );

  // A cross-origin page auto-submits a form to approve a fresh pending request.
  assert.equal(await connectThroughGate(gate.addresses.proxy!.port, `other.corral.test:${targetPort}`), 403);
  const pending = gate.approvals.list().find((a) => a.status === "pending")!;
  (w as { forgeId?: string }).forgeId = pending.id;
  const evilPage = await w.context.newPage();
  const answer = evilPage.waitForResponse((res) => res.url().startsWith(url) && res.request().method() === "POST");
  await evilPage.goto(`http://127.0.0.1:${w.evilPort}/`);
  const res = await answer;
  assert.equal(res.status(), 403);
  assert.equal(gate.approvals.get(pending.id)?.status, "pending");
  await evilPage.close();
});

test("five wrong passwords lock the account; then even the right one is refused", { skip }, async () => {
  const { page, url } = w;
  await page.click("#logout");
  await page.waitForURL(`${url}/login`);
  const messages: string[] = [];
  let posts = 0;
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().endsWith("/api/login")) posts++;
  });
  for (let i = 0; i < 5; i++) {
    await page.fill("#password", `wrong password ${i}`);
    const answer = page.waitForResponse((r) => r.url().endsWith("/api/login"));
    await page.click("button[type=submit]");
    await answer;
    await page.waitForSelector("#login-error:not([hidden])");
    messages.push((await page.textContent("#login-error")) ?? "");
  }
  assert.deepEqual(messages.slice(0, 4), ["wrong password", "wrong password", "wrong password", "wrong password"]);
  assert.match(messages[4]!, /locked/);
  await page.fill("#password", TEST_PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#login-error:not([hidden])");
  assert.match((await page.textContent("#login-error")) ?? "", /locked/);
  assert.equal(page.url(), `${url}/login`);
  assert.equal(posts, 6, "one request per attempt");

  await w.audit.close();
  const logins: AuditRecord[] = [];
  const approvals: AuditRecord[] = [];
  for await (const r of readRecords(w.dirs[2]!)) (r.kind === "login" ? logins : approvals).push(r);
  assert.deepEqual(
    logins.map((r) => r.data.ok),
    [true, false, false, false, false, false, false],
  );
  assert.deepEqual(
    approvals.map((r) => [r.data.verdict, r.data.for]),
    [["approve", "15m"]],
  );
});
