// CONNECT setup rate: C concurrent loops of connect → CONNECT → wait for "200" → reset, for D
// seconds, against a proxy (or, with --direct, plain TCP connects to the targets). Targets
// rotate over several loopback addresses so no 4-tuple space runs out of ports.
//   node bench/gate/connect-driver.ts --proxy 127.0.0.1:3128 --targets 127.0.0.2:9000,127.0.0.3:9000 [-c 64] [-d 5]
// Prints JSON: setups, per second, latency p50/p99 (ms), errors.
import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    proxy: { type: "string" },
    targets: { type: "string" },
    c: { type: "string", default: "64" },
    d: { type: "string", default: "5" },
    direct: { type: "boolean", default: false },
  },
});
const targets = (values.targets ?? "").split(",").filter(Boolean);
const [proxyHost, proxyPort] = (values.proxy ?? "127.0.0.1:3128").split(":");
const C = Number(values.c);
const until = performance.now() + Number(values.d) * 1000;
const latencies: number[] = [];
let errors = 0;
let n = 0;

function once(target: string): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const [th, tp] = target.split(":");
    const s = values.direct
      ? net.connect({ host: th, port: Number(tp) })
      : net.connect({ host: proxyHost, port: Number(proxyPort) });
    s.setNoDelay(true);
    let buf = "";
    const done = (ok: boolean) => {
      if (ok) latencies.push(performance.now() - t0);
      else errors++;
      s.resetAndDestroy();
      resolve();
    };
    s.on("error", () => done(false));
    s.on("connect", () => {
      if (values.direct) return done(true);
      s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\r\n\r\n")) done(/^HTTP\/1\.[01] 200/.test(buf));
    });
  });
}

async function loop(): Promise<void> {
  while (performance.now() < until) await once(targets[n++ % targets.length]!);
}

const start = performance.now();
await Promise.all(Array.from({ length: C }, loop));
const secs = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
console.log(
  JSON.stringify({
    setups: latencies.length,
    perSec: Math.round(latencies.length / secs),
    p50ms: +q(0.5).toFixed(3),
    p99ms: +q(0.99).toFixed(3),
    errors,
  }),
);
