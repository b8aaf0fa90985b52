import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readRecords } from "../audit/index.ts";
import { startCli } from "../testing/cli.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { stateWithPassword, TEST_PASSWORD } from "../ui/testing.ts";

const MAIN = join(PROJECT_ROOT, "src", "cli", "main.ts");

function corral(args: string[], cwd: string, signal?: AbortSignal) {
  const r = startCli(args, signal ? { cwd, stopSignal: signal } : { cwd });
  return { run: r.done, stdout: r.out, stderr: r.err };
}

/** Waits for a started `corral ui` to print its address, then logs in with the test password. */
async function loginTo(cli: { stdout: () => string; stderr: () => string }) {
  let url: string | undefined;
  for (let i = 0; i < 200 && !url; i++) {
    url = /dashboard on (http:\/\/\S+)/.exec(cli.stdout())?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(url, cli.stderr());
  const login = await fetch(`${url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password: TEST_PASSWORD }),
  });
  assert.equal(login.status, 200);
  return { url, login };
}

test("'corral ui passwd' reads the password from stdin and stores only an scrypt hash", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-ui-cli-"));
  try {
    const state = join(dir, "state");
    const ok = spawnSync(process.execPath, [MAIN, "ui", "passwd", "--state-dir", state], {
      input: "a long enough password\n",
      encoding: "utf8",
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /admin password set \(scrypt hash in .*admin\.json\)/);
    const file = join(state, "admin.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, "utf8");
    assert.doesNotMatch(text, /a long enough password/);
    assert.equal(JSON.parse(text).algo, "scrypt");
    const short = spawnSync(process.execPath, [MAIN, "ui", "--set-password", "--state-dir", state], {
      input: "short\n",
      encoding: "utf8",
    });
    assert.equal(short.status, 2);
    assert.match(short.stderr, /at least 12 characters/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("'corral ui' refuses to start without a password, or on a public address without TLS", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-ui-cli-"));
  const state = await stateWithPassword();
  try {
    const none = await corral(["ui", "--state-dir", join(dir, "empty"), "--no-gate"], dir);
    assert.equal(await none.run, 2);
    assert.match(none.stderr(), /no admin password is set.*\n.*corral ui passwd/);
    const open = await corral(["ui", "--state-dir", state.dir, "--no-gate", "--listen", "0.0.0.0:9443"], dir);
    assert.equal(await open.run, 2);
    assert.match(open.stderr(), /without TLS/);
    const half = await corral(["ui", "--state-dir", state.dir, "--no-gate", "--tls-cert", "c.pem"], dir);
    assert.equal(await half.run, 2);
    const bad = await corral(["ui", "--state-dir", state.dir, "--no-gate", "--lockout", "soon"], dir);
    assert.equal(await bad.run, 2);
    assert.match(bad.stderr(), /--lockout 'soon' is not a duration/);
  } finally {
    state.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("'corral ui' serves the SuperAGI graph from the policy and compose file, records logins, stops on signal", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-ui-cli-"));
  const state = await stateWithPassword();
  const abort = new AbortController();
  try {
    // The example's zones and flows, with the audit log kept in the scratch directory.
    const example = readFileSync(join(PROJECT_ROOT, "examples", "superagi", "corral.yaml"), "utf8");
    const zonesAndFlows = example.slice(example.indexOf("zones:"), example.indexOf("publish:"));
    writeFileSync(
      join(dir, "corral.yaml"),
      `version: 1\n${zonesAndFlows}\naudit:\n  path: ./audit\nseal:\n  dir: ./sealed\n  volumes:\n    superagi_postgres_data: { key_file: ./pg.key }\n`,
    );
    const compose = join(PROJECT_ROOT, "examples", "superagi", "docker-compose.yml");
    const cli = await corral(
      ["ui", "-p", "corral.yaml", "-f", compose, "--state-dir", state.dir, "--listen", "127.0.0.1:0", "--no-gate"],
      dir,
      abort.signal,
    );
    const { url, login } = await loginTo(cli);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const graph = (await (await fetch(`${url}/api/graph`, { headers: { cookie } })).json()) as {
      layout: { zones: { name: string }[]; counts: Record<string, number> };
    };
    assert.deepEqual(
      graph.layout.zones.map((z) => z.name),
      ["web", "api", "agents", "data"],
    );
    assert.ok(graph.layout.counts.excess! > 0 && graph.layout.counts.declared! > 0);
    const audit = (await (await fetch(`${url}/api/audit`, { headers: { cookie } })).json()) as {
      state: { status: string; problem: string };
    };
    const sealed = (await (await fetch(`${url}/api/seal`, { headers: { cookie } })).json()) as {
      volumes: { name: string; initialized: boolean; unlocked: boolean; custody: string }[];
    };
    assert.deepEqual(sealed.volumes, [
      { name: "superagi_postgres_data", initialized: false, unlocked: false, custody: "local file" },
    ]);
    assert.equal(audit.state.status, "unknown");
    assert.match(audit.state.problem, /public key/);
    abort.abort();
    assert.equal(await cli.run, 0);
    const kinds = [];
    for await (const r of readRecords(join(dir, "audit"))) kinds.push([r.kind, r.data.ok]);
    assert.deepEqual(kinds, [["login", true]]);
  } finally {
    abort.abort();
    state.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("'corral ui' with a running gate records logins through the gate's admin API (the gate holds the log)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-ui-gate-audit-"));
  const state = await stateWithPassword();
  const abort = new AbortController();
  const { Gate } = await import("../gate/gate.ts");
  const { openAuditSink } = await import("../audit/index.ts");
  const { parsePolicy } = await import("../policy/load.ts");
  const { pino } = await import("pino");
  const { freePort } = await import("../gate/testkit.ts");
  const adminPort = await freePort();
  const text = `version: 1
gate:
  listen: { admin: "127.0.0.1:${adminPort}" }
  state_dir: ${JSON.stringify(join(dir, "gate-state"))}
audit:
  path: ./audit
`;
  writeFileSync(join(dir, "corral.yaml"), text);
  // The gate's log anchors to a witness that is away: the dashboard shows it from the gate.
  const { loadOrCreateWitnessKey } = await import("../audit/witness-state.ts");
  const { generateSigningKey } = await import("../audit/keys.ts");
  loadOrCreateWitnessKey(join(dir, "witness"), "w");
  generateSigningKey(join(dir, "keys", "audit.key"));
  const sink = await openAuditSink({
    dir: join(dir, "audit"),
    keyPath: join(dir, "keys", "audit.key"),
    witnesses: [{ url: "http://127.0.0.1:9", key: join(dir, "witness", "witness.pub") }],
  });
  const gate = await Gate.start({
    loaded: parsePolicy(text, join(dir, "corral.yaml")),
    serve: { proxy: false, dns: false, admin: true },
    logger: pino({ level: "silent" }),
    env: {},
    audit: sink,
  });
  try {
    const cli = await corral(
      ["ui", "-p", "corral.yaml", "--state-dir", state.dir, "--listen", "127.0.0.1:0"],
      dir,
      abort.signal,
    );
    const { url, login } = await loginTo(cli);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const audit = (await (await fetch(`${url}/api/audit`, { headers: { cookie } })).json()) as {
      state: { anchors?: { targets: { id: string; anchoredSize: number; lastError?: string }[] } };
    };
    assert.equal(audit.state.anchors?.targets[0]?.id, "http://127.0.0.1:9", JSON.stringify(audit.state));
    assert.equal(audit.state.anchors?.targets[0]?.anchoredSize, 0);
    abort.abort();
    assert.equal(await cli.run, 0);
    assert.doesNotMatch(cli.stderr(), /audit record not written/, cli.stderr());
  } finally {
    abort.abort();
    await gate.close();
    await sink.close();
  }
  try {
    const kinds = [];
    for await (const r of readRecords(join(dir, "audit"))) kinds.push([r.kind, r.actor.identity, r.data.ok]);
    assert.deepEqual(kinds, [
      ["policy.load", "corral", true],
      ["login", "ui:admin", true],
    ]);
  } finally {
    state.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
