// DNS over TCP: length-prefixed messages, several in flight per connection (bounded), idle
// connections closed.
import net from "node:net";
import * as dns from "dns-packet";
import type { GateContext } from "../context.ts";
import { answerQuery } from "./answer-query.ts";

const TCP_IDLE_MS = 10_000;
const TCP_MAX_PENDING = 64;

/** A TCP server answering through `ctx`; `sockets` lets close() cut open connections. */
export function dnsTcpServer(ctx: GateContext): { server: net.Server; sockets: Set<net.Socket> } {
  const sockets = new Set<net.Socket>();
  const onTcp = (sock: net.Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    let pending = 0;
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < len + 2) break;
        const msg = buf.subarray(2, len + 2);
        buf = buf.subarray(len + 2);
        if (++pending > TCP_MAX_PENDING) {
          sock.destroy();
          return;
        }
        Promise.resolve()
          .then(() => answerQuery(ctx, Buffer.from(msg), sock.remoteAddress ?? ""))
          .then((a) => {
            pending--;
            if (!a || sock.destroyed) return;
            const wire = a.wire ?? dns.encode(a.packet!);
            const len = Buffer.alloc(2);
            len.writeUInt16BE(wire.length);
            sock.write(Buffer.concat([len, wire]));
          })
          .catch(() => sock.destroy());
      }
      if (buf.length > 65537) sock.destroy();
    });
  };
  return { server: net.createServer(onTcp), sockets };
}
