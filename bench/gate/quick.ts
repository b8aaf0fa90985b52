// One gate, one load: for profiling and before/after checks while tuning (the full comparison
// is run.ts). Starts the gate CLI (optionally under --cpu-prof into --prof DIR), runs dnsperf
// (dns) or wrk (forward) against it, prints the figure, stops everything by pid.
//   node bench/gate/quick.ts dns|forward|dnsmasq|squid [--load forward|connect] [--workers 2] [--dns-workers 1] [--seconds 5] [--prof DIR]
import { execFile } from "node:child_process";
import { chmodSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { dnsmasqArgs, freePort, ROOT, spawnReady, startBenchTargets, stop } from "./procs.ts";

const run = promisify(execFile);
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workers: { type: "string", default: "2" },
    seconds: { type: "string", default: "5" },
    prof: { type: "string" },
    log: { type: "string" },
    "dns-workers": { type: "string" },
    "max-qps": { type: "string" },
    /** forward (wrk) or connect (connect-driver.ts) for the proxy modes */
    load: { type: "string", default: "forward" },
    /** extra node flags for the gate, e.g. "--trace-gc"; its output goes to --gate-out */
    "node-args": { type: "string" },
    "gate-out": { type: "string" },
  },
});
const what = positionals[0] ?? "dns";
const SECS = Number(values.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), "corral-quick-"));
chmodSync(dir, 0o777);
const cleanup: (() => Promise<void>)[] = [];
try {
  const { originPort: O, upstream } = await startBenchTargets(cleanup);
  const queries = join(dir, "queries.txt");
  writeFileSync(
    queries,
    ["allowed.test", "api.allowed.test", "cdn.allowed.test", "www.allowed.test"].map((n) => `${n} A\n`).join(""),
  );
  const [gp, gd, ga] = [await freePort(), await freePort(), await freePort()];
  let proxyPort = gp;
  let dnsPort = gd;
  if (what === "dnsmasq") {
    dnsPort = await freePort();
    const d = await spawnReady("dnsmasq", dnsmasqArgs(dnsPort, upstream.port, dir), null);
    cleanup.push(() => stop(d.child));
    await sleep(300);
  } else if (what === "squid") {
    proxyPort = await freePort();
    writeFileSync(
      join(dir, "squid.conf"),
      `http_port 127.0.0.1:${proxyPort}\npid_filename ${dir}/squid.pid\ncache deny all\ncache_mem 8 MB\naccess_log stdio:${dir}/squid-access.log\ncache_log ${dir}/squid-cache.log\ncache_store_log none\ncoredump_dir ${dir}\nhosts_file none\nshutdown_lifetime 0 seconds\nacl allowed dst 127.0.0.2/32\nacl okports port ${O}\nhttp_access allow allowed okports\nhttp_access deny all\n`,
    );
    const s = await spawnReady("squid", ["-N", "-f", join(dir, "squid.conf")], null);
    cleanup.push(() => stop(s.child));
    await sleep(1500);
  } else {
    writeFileSync(
      join(dir, "corral.yaml"),
      `version: 1
identities:
  bench: { source: [127.0.0.1/32] }
egress:
  - from: bench
    allow: ["127.0.0.2:${O}", "allowed.test", "**.allowed.test"]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"] }
gate:
  listen: { proxy: "127.0.0.1:${gp}", dns: "127.0.0.1:${gd}", admin: "127.0.0.1:${ga}" }
  limits: { max_connections: 50000, per_identity_connections: 50000, per_identity_rps: 10000000 }
  alerts: { fanout: 1000000, deny_burst: 1000000 }
`,
    );
    const nodeArgs = [
      ...(values.prof ? ["--cpu-prof", "--cpu-prof-dir", values.prof] : []),
      ...(values["node-args"] ? values["node-args"].split(" ").filter(Boolean) : []),
    ];
    const gate = await spawnReady(
      process.execPath,
      [
        ...nodeArgs,
        join(ROOT, "src/cli/main.ts"),
        "gate",
        "--policy",
        join(dir, "corral.yaml"),
        "--log",
        values.log ?? join(dir, "gate.log"),
        "--workers",
        values.workers!,
        "--dns-workers",
        values["dns-workers"] ?? "1",
        "--no-watch",
      ],
      /admin http:/,
    );
    cleanup.push(() => stop(gate.child));
    if (values["gate-out"]) {
      const out = createWriteStream(values["gate-out"]);
      gate.child.stdout?.pipe(out);
      gate.child.stderr?.pipe(out);
    }
    await sleep(500);
  }
  if (what === "fwdns") {
    // the order run.ts uses: forward load first, then DNS on the same gate
    await run(
      "wrk",
      ["-t2", "-c64", `-d${SECS}s`, "-s", join(ROOT, "bench/gate/forward.lua"), `http://127.0.0.1:${proxyPort}`],
      {
        env: { ...process.env, TARGET: `127.0.0.2:${O}` },
      },
    );
  }
  if (what === "dns" || what === "dnsmasq" || what === "fwdns") {
    await run("dnsperf", ["-s", "127.0.0.1", "-p", String(dnsPort), "-d", queries, "-n", "1"]);
    const { stdout } = await run("dnsperf", [
      "-s",
      "127.0.0.1",
      "-p",
      String(dnsPort),
      "-d",
      queries,
      "-l",
      String(SECS),
      "-c",
      "8",
      "-q",
      "500",
      "-t",
      "1",
      ...(values["max-qps"] ? ["-Q", values["max-qps"]] : []),
    ]);
    console.log(
      what,
      /Queries per second:\s+([\d.]+)/.exec(stdout)?.[1],
      "qps; lost",
      /Queries lost:\s+(\d+)/.exec(stdout)?.[1],
      "; completed",
      /Queries completed:\s+(\d+)/.exec(stdout)?.[1],
    );
  } else if (values.load === "connect") {
    const { stdout } = await run(process.execPath, [
      join(ROOT, "bench/gate/connect-driver.ts"),
      "--proxy",
      `127.0.0.1:${proxyPort}`,
      "--targets",
      `127.0.0.2:${O}`,
      "-c",
      "64",
      "-d",
      String(SECS),
    ]);
    console.log(what, "CONNECT", stdout.trim());
  } else {
    const { stdout } = await run(
      "wrk",
      [
        "-t2",
        "-c64",
        `-d${SECS}s`,
        "--latency",
        "--timeout",
        "5s",
        "-s",
        join(ROOT, "bench/gate/forward.lua"),
        `http://127.0.0.1:${proxyPort}`,
      ],
      { env: { ...process.env, TARGET: `127.0.0.2:${O}` } },
    );
    const lat = /\s50%\s+(\S+)[\s\S]*?\s99%\s+(\S+)/.exec(stdout);
    console.log(
      what,
      /Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1],
      "rps; p50",
      lat?.[1],
      "p99",
      lat?.[2],
      /Non-2xx.*|Socket errors.*/.exec(stdout)?.[0] ?? "",
    );
  }
} finally {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
