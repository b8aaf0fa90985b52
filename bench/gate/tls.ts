// HTTPS through the gate, in one run on loopback: TLS-terminated requests with the credential
// swapped in (the gate's brokered path) against squid with ssl-bump (Debian's squid-openssl,
// signing with the same CA), against the gate's plain CONNECT tunnel (TLS end to end), and
// direct TLS as the baseline. Two loads: keep-alive requests (an SDK's steady state) and a new
// tunnel, handshake and request each time (its first call). Writes bench/results/gate-tls.json,
// ratios first. Every server is started here and stopped by its pid.
//   node bench/gate/tls.ts [--seconds 5] [--connections 32] [--workers 1]
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { makeOriginPki } from "../../src/testing/tls-origin.ts";
import { freePort, ROOT, spawnReady, startBenchTargets, stop } from "./procs.ts";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    workers: { type: "string", default: "1" },
  },
});
const SECS = Number(values.seconds);
const CONNS = Number(values.connections);
const BUMPED = "api.allowed.test";
const TUNNELLED = "cdn.allowed.test";
const KEY = "sk-bench-real-key-0123456789abcdefghij";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Load {
  requests: number;
  perSec: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
  errors: number;
}

const dir = mkdtempSync(join(tmpdir(), "corral-bench-tls-"));
chmodSync(dir, 0o777); // squid drops to its own user and writes its certificate db here
const children: (() => Promise<void>)[] = [];
const result: Record<string, unknown> = {};
try {
  const { upstream } = await startBenchTargets(children);
  const pki = makeOriginPki(dir, [BUMPED, TUNNELLED]);
  const origin = await spawnReady(
    process.execPath,
    [join(ROOT, "bench/gate/origin-server.ts"), "127.0.0.2", "0", join(dir, "origin.key"), join(dir, "origin.crt")],
    /ready (\d+)/,
  );
  children.push(() => stop(origin.child));
  const T = Number(origin.match[1]);

  // The gate: a credential for the bumped name (terminated), the other name a plain tunnel.
  const [gp, gd, ga] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, "gate.yaml"),
    `version: 1
project: bench
identities:
  bench: { source: [127.0.0.1/32] }
egress:
  - from: bench
    allow: ["${BUMPED}:${T}", "${TUNNELLED}:${T}"]
credentials:
  llm:
    value: { env: BENCH_KEY }
    agent_env: OPENAI_API_KEY
    for: bench
    to: { host: ${BUMPED}, port: ${T} }
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"] }
gate:
  listen: { proxy: "127.0.0.1:${gp}", dns: "127.0.0.1:${gd}", admin: "127.0.0.1:${ga}" }
  state_dir: ${JSON.stringify(join(dir, "gate-state"))}
  limits: { max_connections: 50000, per_identity_connections: 50000, per_identity_rps: 10000000 }
  alerts: { fanout: 1000000, deny_burst: 1000000 }
`,
  );
  const gate = await spawnReady(
    "env",
    [
      `BENCH_KEY=${KEY}`,
      process.execPath,
      join(ROOT, "src/cli/main.ts"),
      "gate",
      "--policy",
      join(dir, "gate.yaml"),
      "--log",
      join(dir, "gate.log"),
      "--upstream-ca",
      pki.caFile,
      "--workers",
      values.workers,
      "--no-watch",
    ],
    /admin http:/,
  );
  children.push(() => stop(gate.child));
  const gateCa = join(dir, "gate-state", "ca", "ca.crt");

  // squid-openssl, bumping with the same CA (a copy its user can read), the same allowlist.
  const sq = await freePort();
  const squidCa = join(dir, "squid-ca.pem");
  writeFileSync(squidCa, readFileSync(gateCa, "utf8") + readFileSync(join(dir, "gate-state", "ca", "ca.key"), "utf8"));
  chmodSync(squidCa, 0o644);
  writeFileSync(join(dir, "hosts"), `127.0.0.2 ${BUMPED} ${TUNNELLED}\n`);
  await run("/usr/lib/squid/security_file_certgen", ["-c", "-s", join(dir, "ssl_db"), "-M", "16MB"]);
  await run("chmod", ["-R", "a+rwX", join(dir, "ssl_db")]);
  copyFileSync(pki.caFile, join(dir, "squid-upstream-ca.pem"));
  writeFileSync(
    join(dir, "squid.conf"),
    `http_port 127.0.0.1:${sq} ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=16MB tls-cert=${squidCa}
sslcrtd_program /usr/lib/squid/security_file_certgen -s ${dir}/ssl_db -M 16MB
sslcrtd_children 5 startup=1 idle=1
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile=${dir}/squid-upstream-ca.pem
pid_filename ${dir}/squid.pid
cache deny all
cache_mem 8 MB
access_log stdio:${dir}/squid-access.log
cache_log ${dir}/squid-cache.log
cache_store_log none
coredump_dir ${dir}
hosts_file ${dir}/hosts
shutdown_lifetime 0 seconds
acl allowed dstdomain ${BUMPED}
acl okports port ${T}
acl CONNECT method CONNECT
http_access allow CONNECT allowed okports
http_access allow allowed okports
http_access deny all
`,
  );
  const squid = await spawnReady("squid", ["-N", "-f", join(dir, "squid.conf")], null);
  children.push(() => stop(squid.child));
  await sleep(1500);

  const placeholder = (await import("../../src/policy/placeholder.ts")).placeholderFor(
    "bench",
    "llm",
    "bench",
    "openai",
  );
  const paths = {
    gate_terminated: {
      proxy: `127.0.0.1:${gp}`,
      host: BUMPED,
      ca: gateCa,
      header: `Authorization: Bearer ${placeholder}`,
    },
    squid_bump: { proxy: `127.0.0.1:${sq}`, host: BUMPED, ca: gateCa, header: `Authorization: Bearer ${KEY}` },
    gate_tunnel: { proxy: `127.0.0.1:${gp}`, host: TUNNELLED, ca: pki.caFile, header: `Authorization: Bearer ${KEY}` },
    direct: { direct: "127.0.0.2", host: BUMPED, ca: pki.caFile, header: `Authorization: Bearer ${KEY}` },
  } as const;
  const drive = async (p: (typeof paths)[keyof typeof paths], fresh: boolean, seconds = SECS): Promise<Load> => {
    const args = [
      join(ROOT, "bench/gate/tls-driver.ts"),
      ...("proxy" in p ? ["--proxy", p.proxy] : ["--direct", p.direct]),
      "--host",
      p.host,
      "--port",
      String(T),
      "--ca",
      p.ca,
      "--header",
      p.header,
      "-c",
      String(CONNS),
      "-d",
      String(seconds),
      ...(fresh ? ["--fresh"] : []),
    ];
    const { stdout } = await run(process.execPath, args, { timeout: (seconds + 60) * 1000 });
    return JSON.parse(stdout) as Load;
  };
  // Each path must work before it is measured: one short run without errors.
  for (const [name, p] of Object.entries(paths)) {
    const probe = await drive(p, false, 1);
    if (probe.errors > 0 || probe.requests === 0) throw new Error(`${name}: ${JSON.stringify(probe)}`);
  }
  const keepalive: Record<string, Load> = {};
  const fresh: Record<string, Load> = {};
  for (const [name, p] of Object.entries(paths)) keepalive[name] = await drive(p, false);
  for (const [name, p] of Object.entries(paths)) fresh[name] = await drive(p, true);

  const ratio = (a: number, b: number) => +(a / b).toFixed(2);
  result.ratios = {
    keepalive_rps_terminated_over_squid_bump: ratio(keepalive.gate_terminated!.perSec, keepalive.squid_bump!.perSec),
    keepalive_rps_terminated_over_gate_tunnel: ratio(keepalive.gate_terminated!.perSec, keepalive.gate_tunnel!.perSec),
    fresh_rps_terminated_over_squid_bump: ratio(fresh.gate_terminated!.perSec, fresh.squid_bump!.perSec),
    fresh_rps_terminated_over_gate_tunnel: ratio(fresh.gate_terminated!.perSec, fresh.gate_tunnel!.perSec),
  };
  const added = (set: Record<string, Load>, q: "p50ms" | "p99ms") =>
    Object.fromEntries(
      ["gate_terminated", "squid_bump", "gate_tunnel"].map((k) => [k, +(set[k]![q] - set.direct![q]).toFixed(3)]),
    );
  result.added_latency_ms = {
    keepalive_p50: added(keepalive, "p50ms"),
    keepalive_p99: added(keepalive, "p99ms"),
    first_request_p50: added(fresh, "p50ms"),
    first_request_p99: added(fresh, "p99ms"),
  };
  result.keepalive = keepalive;
  result.fresh_connection = fresh;
  const gateLog = readFileSync(join(dir, "gate.log"), "utf8");
  result.checks = {
    brokered_lines: (gateLog.match(/"corral\.credentials":\["llm"\]/g) ?? []).length,
    real_key_in_gate_log: gateLog.includes(KEY),
  };
  result.setup = {
    anchors: {
      squid_bump:
        "Squid 5.7 (squid-openssl, -N, 1 worker, no cache), ssl_bump peek+bump, certificates signed by the gate's CA",
      gate_tunnel: "the gate's own CONNECT path to a destination it does not terminate (TLS end to end)",
      direct: "TLS straight to the origin",
    },
    gate: `corral gate --workers ${values.workers}, decision log to a file, a credential swapped into every terminated request`,
    load: `bench/gate/tls-driver.ts -c ${CONNS} -d ${SECS}: keep-alive GETs per connection, and (fresh) CONNECT + handshake + one GET each`,
    origin: "bench/gate/origin-server.ts over TLS (ECDSA P-256, openssl-made CA)",
    machine: "2 cores shared by load generator and servers, loopback only",
  };
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/gate-tls.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const c of children.reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
