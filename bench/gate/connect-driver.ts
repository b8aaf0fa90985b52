// CONNECT setup rate: C concurrent loops of connect → CONNECT → wait for "200" → reset, for D
// seconds, against a proxy (or, with --direct, plain TCP connects to the targets). Targets
// rotate over several loopback addresses so no 4-tuple space runs out of ports.
// --first-request: instead of a CONNECT, one absolute-URI GET on each new connection, timed to
// the end of its response (direct: an origin-form GET): the first request an SDK makes.
//   node bench/gate/connect-driver.ts --proxy 127.0.0.1:3128 --targets 127.0.0.2:9000,127.0.0.3:9000 [-c 64] [-d 5] [--first-request]
// Prints JSON: setups, per second, latency p50/p99/p99.9 (ms), errors.
import net from "node:net";
import { parseArgs } from "node:util";
import { latencySummary } from "./latency.ts";

const { values } = parseArgs({
  options: {
    proxy: { type: "string" },
    targets: { type: "string" },
    c: { type: "string", default: "64" },
    d: { type: "string", default: "5" },
    direct: { type: "boolean", default: false },
    "first-request": { type: "boolean", default: false },
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
    const first = values["first-request"];
    s.on("connect", () => {
      if (first) return s.write(`GET ${values.direct ? "/" : `http://${target}/`} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      if (values.direct) return done(true);
      s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!first) return done(/^HTTP\/1\.[01] 200/.test(buf));
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
      if (Buffer.byteLength(buf, "latin1") >= end + 4 + length) done(/^HTTP\/1\.[01] 200/.test(buf));
    });
  });
}

async function loop(): Promise<void> {
  while (performance.now() < until) await once(targets[n++ % targets.length]!);
}

const start = performance.now();
await Promise.all(Array.from({ length: C }, loop));
const { count, perSec, p50ms, p99ms, p999ms } = latencySummary(latencies, (performance.now() - start) / 1000);
console.log(JSON.stringify({ setups: count, perSec, p50ms, p99ms, p999ms, errors }));
