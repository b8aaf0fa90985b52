// HTTPS load through a proxy (or direct): C loops for D seconds, each a TLS connection over a
// CONNECT tunnel to `--host`, then GET requests one after another on it (keepalive mode), or a
// new tunnel + handshake + one request each time (fresh mode: what an SDK's first call costs).
//   node bench/gate/tls-driver.ts --proxy 127.0.0.1:3128 --host api.allowed.test --port 8443 \
//     --ca ca.pem [--direct 127.0.0.2] [--header "Authorization: Bearer x"] [-c 32] [-d 5] [--fresh]
// Prints JSON: requests, per second, latency p50/p99/p99.9 (ms), errors.
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { latencySummary } from "./latency.ts";

const { values } = parseArgs({
  options: {
    proxy: { type: "string" },
    direct: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    ca: { type: "string" },
    header: { type: "string", multiple: true, default: [] },
    c: { type: "string", default: "32" },
    d: { type: "string", default: "5" },
    fresh: { type: "boolean", default: false },
  },
});
const host = values.host ?? "";
const port = Number(values.port);
const ca = readFileSync(values.ca ?? "", "utf8");
const C = Number(values.c);
const until = performance.now() + Number(values.d) * 1000;
const request = Buffer.from(
  `GET /v1/models HTTP/1.1\r\nHost: ${host}:${port}\r\n${values.header.map((h) => `${h}\r\n`).join("")}\r\n`,
);
const latencies: number[] = [];
let errors = 0;

/** A TCP connection to the destination: through the proxy's CONNECT, or straight to --direct. */
function tunnel(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (values.direct) {
      const s = net.connect({ host: values.direct, port }, () => resolve(s));
      s.once("error", reject);
      return;
    }
    const [ph, pp] = (values.proxy ?? "").split(":");
    const s = net.connect({ host: ph, port: Number(pp) });
    s.setNoDelay(true);
    s.once("error", reject);
    s.once("connect", () => s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onData);
      if (/^HTTP\/1\.[01] 200/.test(head)) resolve(s);
      else reject(new Error(head.split("\r\n")[0]));
    };
    s.on("data", onData);
  });
}

function secure(raw: net.Socket): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ socket: raw, servername: host, ca, ALPNProtocols: ["http/1.1"] });
    s.once("secureConnect", () => resolve(s));
    s.once("error", reject);
  });
}

/** One request on `s`, resolved when its whole response (Content-Length framed) is in. */
function exchange(s: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      s.off("data", onData);
      s.off("error", reject);
      if (/^HTTP\/1\.1 200/.test(head)) resolve();
      else reject(new Error(head.split("\r\n")[0]));
    };
    s.on("data", onData);
    s.once("error", reject);
    s.write(request);
  });
}

async function keepalive(): Promise<void> {
  let s: tls.TLSSocket | undefined;
  while (performance.now() < until) {
    try {
      s ??= await secure(await tunnel());
      const t0 = performance.now();
      await exchange(s);
      latencies.push(performance.now() - t0);
    } catch {
      errors++;
      s?.destroy();
      s = undefined;
    }
  }
  s?.destroy();
}

async function fresh(): Promise<void> {
  while (performance.now() < until) {
    const t0 = performance.now();
    let s: tls.TLSSocket | undefined;
    try {
      s = await secure(await tunnel());
      await exchange(s);
      latencies.push(performance.now() - t0);
    } catch {
      errors++;
    }
    s?.destroy();
  }
}

const start = performance.now();
await Promise.all(Array.from({ length: C }, values.fresh ? fresh : keepalive));
const { count, perSec, p50ms, p99ms, p999ms } = latencySummary(latencies, (performance.now() - start) / 1000);
console.log(JSON.stringify({ requests: count, perSec, p50ms, p99ms, p999ms, errors }));
