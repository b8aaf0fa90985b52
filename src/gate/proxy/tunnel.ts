// A CONNECT tunnel: dial the checked address, answer 200, and relay bytes both ways once the
// client's first bytes pass the tunnel's TLS decision (decide-tls.ts). Server-to-client bytes
// flow at once (server-first protocols such as SSH or SMTP); client-to-server bytes wait until
// the first ones have been decided. The request ends when the tunnel closes.
import type { Socket } from "node:net";
import type { Decision } from "../decide.ts";
import { decideTunnelStart } from "../decide-tls.ts";
import type { Addr } from "../ssrf.ts";
import { awaitClientHello } from "./client-hello.ts";
import type { ClientConnection } from "./connection.ts";
import { dial } from "./dial.ts";
import type { Exchange } from "./exchange.ts";
import type { Route } from "./route.ts";

export async function tunnel(
  conn: ClientConnection,
  ex: Exchange,
  r: Route,
  addr: Addr,
  authority: { host: string; port: number },
): Promise<void> {
  const dialled = await dial(addr, authority.port, conn.ctx.snapshot().limits.connectTimeoutMs);
  if (conn.state === "closed") {
    if ("sock" in dialled) dialled.sock.destroy();
    return;
  }
  if (!("sock" in dialled)) return conn.failed(dialled.status, dialled.error);
  const up = dialled.sock;
  const client = conn.sock;
  conn.state = "tunnel";
  conn.upstream = { sock: up, key: "tunnel" };
  client.write("HTTP/1.1 200 Connection established\r\n\r\n");
  const limits = conn.ctx.snapshot().limits;
  const hello = conn.buf;
  conn.buf = Buffer.alloc(0);
  const expected = r.name ?? authority.host;
  conn.hooks.tunnels(1);
  let cutBy: Decision | undefined;
  let closed = false;
  const onClose = () => {
    if (closed) return;
    closed = true;
    conn.hooks.tunnels(-1);
    ex.end({ status: 200, ...(cutBy ? { decision: cutBy, error: "tunnel cut before relaying" } : {}) });
    if (conn.state !== "closed") conn.destroy("tunnel closed");
    up.destroy();
  };
  const finish = () => {
    if (conn.state !== "closed") conn.destroy("tunnel closed");
    up.destroy();
  };
  const cut = (d: Decision) => {
    cutBy = d;
    onClose();
  };
  up.on("close", onClose);
  up.on("error", finish);
  client.on("close", onClose);
  up.setTimeout(limits.idleTimeoutMs, finish);
  const counted = (direction: "up" | "down", n: number) => {
    if (direction === "up") ex.bytesUp += n;
    else ex.bytesDown += n;
    conn.hooks.bytes(direction, n);
  };
  relay(up, client, (n) => counted("down", n));
  awaitClientHello(
    client,
    hello,
    (h) => decideTunnelStart(h, expected, authority),
    limits.headerTimeoutMs,
    // On 443 the clock starts now, elsewhere when a handshake starts arriving.
    authority.port === 443,
    (verdict, first) => {
      if (verdict !== "ok") return cut(verdict);
      if (first.length > 0) {
        counted("up", first.length);
        up.write(first);
      }
      relay(client, up, (n) => counted("up", n));
      client.resume();
    },
  );
}

/** Bytes from one socket to the other with back-pressure; a half-close is passed on. */
function relay(from: Socket, to: Socket, count: (n: number) => void): void {
  from.on("data", (d: Buffer) => {
    count(d.length);
    if (!to.write(d)) from.pause();
  });
  to.on("drain", () => from.resume());
  from.on("end", () => to.end());
}
