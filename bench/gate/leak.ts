// Leak check: rounds of N tunnels through one in-process gate, a forced GC after each, and the
// heap compared with the first round's. Run: node --expose-gc bench/gate/leak.ts [N=4000] [rounds=3]
// (In one process each tunnel costs four fds — client, gate×2, echo — so N stays under 5000.)
import net from "node:net";
import { createLogger } from "../../src/gate/log.ts";
import { startEcho, startTestGate } from "../../src/gate/testkit.ts";

const N = Number(process.argv[2] ?? 4000);
const ROUNDS = Number(process.argv[3] ?? 3);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const echo = await startEcho("127.0.0.2");
const g = await startTestGate(
  `version: 1
identities:
  soak: { source: [127.0.0.1/32] }
egress:
  - from: soak
    allow: ["127.0.0.2:${echo.port}"]
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:9"] }
gate:
  limits: { max_connections: 100000, per_identity_connections: 100000, per_identity_rps: 1000000 }
  alerts: { fanout: 1000000 }
`,
  { logger: createLogger("/dev/null") },
);

function tunnel(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port: g.proxyPort });
    let buf = "";
    let stage = 0;
    s.on("error", reject);
    s.on("connect", () => s.write(`CONNECT 127.0.0.2:${echo.port} HTTP/1.1\r\n\r\n`));
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (stage === 0 && buf.includes("\r\n\r\n")) {
        stage = 1;
        buf = "";
        s.write("ping");
      } else if (stage === 1 && buf === "ping") {
        s.removeAllListeners("data");
        resolve(s);
      }
    });
  });
}

async function round(): Promise<number> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < N; i += 500)
    socks.push(...(await Promise.all(Array.from({ length: Math.min(500, N - i) }, tunnel))));
  for (const s of socks) s.destroy();
  while (g.gate.openConnections > 0) await sleep(50);
  await sleep(300);
  gc?.();
  await sleep(50);
  gc?.();
  return process.memoryUsage().heapUsed;
}

const baseline = await round();
const rounds: number[] = [];
for (let r = 0; r < ROUNDS; r++) rounds.push(await round());
await g.close();
await echo.close();
const kb = (b: number) => Math.round(b / 1024);
console.log(
  JSON.stringify({
    tunnelsPerRound: N,
    rounds: ROUNDS,
    heapKb: { baseline: kb(baseline), rounds: rounds.map(kb) },
    growthKb: kb(Math.max(...rounds) - baseline),
  }),
);
