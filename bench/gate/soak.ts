// Soak: N concurrent CONNECT tunnels through `corral gate --workers 2` on loopback, all open
// at once and each carrying bytes, then all closed. The gate and the echo origin run in their
// own processes (each tunnel costs the gate two fds; this machine's hard fd limit is 20000 per
// process, so two SO_REUSEPORT workers hold 10,000 tunnels). Prints one JSON line.
//   node bench/gate/soak.ts [N=10000]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, ROOT, spawnReady, stop, treeStats } from "./procs.ts";

const N = Number(process.argv[2] ?? 10_000);
const WORKERS = Number(process.env.CORRAL_SOAK_WORKERS ?? 2);
const BATCH = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), "corral-soak-"));
const echo = await spawnReady(
  process.execPath,
  [join(ROOT, "bench/gate/echo-server.ts"), "127.0.0.2", "0"],
  /ready (\d+)/,
);
const echoPort = Number(echo.match[1]);
const [proxyPort, dnsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
writeFileSync(
  join(dir, "corral.yaml"),
  `version: 1
identities:
  soak: { source: [127.0.0.1/32] }
egress:
  - from: soak
    allow: ["127.0.0.2:${echoPort}"]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:9"] }
gate:
  listen: { proxy: "127.0.0.1:${proxyPort}", dns: "127.0.0.1:${dnsPort}", admin: "127.0.0.1:${adminPort}" }
  limits: { max_connections: ${N + 1000}, per_identity_connections: ${N + 1000}, per_identity_rps: 1000000 }
  alerts: { fanout: 1000000 }
`,
);
const gate = await spawnReady(
  process.execPath,
  [
    join(ROOT, "src/cli/main.ts"),
    "gate",
    "--policy",
    join(dir, "corral.yaml"),
    "--log",
    "/dev/null",
    "--workers",
    String(WORKERS),
    "--no-watch",
  ],
  /admin http:\/\/127\.0\.0\.1/,
);
await sleep(500); // the other workers bind just after the first

function tunnel(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port: proxyPort });
    let buf = "";
    let stage = 0;
    s.setTimeout(30_000, () => reject(new Error("tunnel timeout")));
    s.on("error", reject);
    s.on("connect", () => s.write(`CONNECT 127.0.0.2:${echoPort} HTTP/1.1\r\n\r\n`));
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (stage === 0 && buf.includes("\r\n\r\n")) {
        if (!buf.startsWith("HTTP/1.1 200")) return reject(new Error(buf));
        stage = 1;
        buf = "";
        s.write("ping");
      } else if (stage === 1 && buf === "ping") {
        s.setTimeout(0);
        s.removeAllListeners("data");
        resolve(s);
      }
    });
  });
}

/** Heap and fds of all gate workers, from the aggregated Prometheus default metrics. */
async function gateHeap(): Promise<{ heapUsedKb: number; fds: number }> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)`, "m").exec(text)?.[1] ?? 0);
  return { heapUsedKb: Math.round(num("nodejs_heap_size_used_bytes") / 1024), fds: num("process_open_fds") };
}

let result: Record<string, unknown> = {};
try {
  for (const s of await Promise.all(Array.from({ length: 200 }, tunnel))) s.destroy();
  await sleep(1000);
  const gatePid = gate.child.pid!;
  const baseline = treeStats(gatePid);
  const heapBaseline = await gateHeap();
  const t0 = performance.now();
  const socks: net.Socket[] = [];
  for (let i = 0; i < N; i += BATCH)
    socks.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, tunnel))));
  const setupMs = performance.now() - t0;
  // All N open at once: every one still echoes.
  const alive = await Promise.all(
    socks.map(
      (s) =>
        new Promise<boolean>((resolve) => {
          s.once("data", (d) => resolve(d.toString() === "x"));
          s.write("x");
          setTimeout(() => resolve(false), 20_000).unref();
        }),
    ),
  );
  const peak = treeStats(gatePid);
  const heapPeak = await gateHeap();
  for (const s of socks) s.destroy();
  const deadline = Date.now() + 20_000;
  let after = treeStats(gatePid);
  while (after.fds > baseline.fds + 10 && Date.now() < deadline) {
    await sleep(250);
    after = treeStats(gatePid);
  }
  // A little traffic after the storm lets V8 run its collector before we look.
  for (let i = 0; i < 5; i++) {
    for (const s of await Promise.all(Array.from({ length: 100 }, tunnel))) s.destroy();
    await sleep(1000);
  }
  after = treeStats(gatePid);
  const heapAfter = await gateHeap();
  result = {
    tunnels: N,
    workers: WORKERS,
    allOpenAndEchoing: alive.filter(Boolean).length,
    setupMs: Math.round(setupMs),
    setupsPerSec: Math.round((N / setupMs) * 1000),
    gateRssKb: { baseline: baseline.rssKb, peak: peak.rssKb, after: after.rssKb },
    gateFds: { baseline: baseline.fds, peak: peak.fds, after: after.fds },
    gateHeapUsedKb: { baseline: heapBaseline.heapUsedKb, peak: heapPeak.heapUsedKb, after: heapAfter.heapUsedKb },
  };
} finally {
  await stop(gate.child);
  await stop(echo.child);
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
