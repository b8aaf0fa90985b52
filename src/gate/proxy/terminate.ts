// A CONNECT tunnel the gate terminates (a destination with a credential or request rules): the
// ClientHello passes the same SNI check as a plain tunnel, then the gate answers the handshake
// with a leaf from its own CA for the decided name, and every request inside is a request of
// its own (connection.ts `within`): routed, checked against the request rules, brokered, and
// relayed over a fresh TLS connection to the real server. The CONNECT itself is logged when
// the tunnel closes, with the bytes of the requests inside.
import { TLSSocket } from "node:tls";
import type { Termination } from "../context.ts";
import type { Decision } from "../decide.ts";
import { decideTunnelStart } from "../decide-tls.ts";
import { SERVER_TLS, upstreamMinVersion } from "../tls/tls-settings.ts";
import { awaitClientHello } from "./client-hello.ts";
import type { ClientConnection, Inside } from "./connection.ts";
import type { Exchange } from "./exchange.ts";
import type { Route } from "./route.ts";

export function terminate(
  conn: ClientConnection,
  ex: Exchange,
  r: Route,
  authority: { host: string; port: number },
  termination: Termination,
  inside: Omit<Inside, "upstream">,
): void {
  const client = conn.sock;
  conn.state = "tunnel";
  // The handshake and each request inside keep their own clocks (header and idle timeouts);
  // the raw socket sees no reads of its own once TLS has its handle.
  client.setTimeout(0);
  client.write("HTTP/1.1 200 Connection established\r\n\r\n");
  const limits = conn.ctx.snapshot().limits;
  const first = conn.buf;
  conn.buf = Buffer.alloc(0);
  const expected = r.name ?? authority.host;
  conn.hooks.tunnels(1);
  let closed = false;
  let cutBy: Decision | undefined;
  let error: string | undefined;
  const onClose = () => {
    if (closed) return;
    closed = true;
    conn.hooks.tunnels(-1);
    ex.end({
      status: 200,
      ...(cutBy ? { decision: cutBy, error: "tunnel cut before the handshake" } : {}),
      ...(error !== undefined ? { error } : {}),
    });
    if (conn.state !== "closed") conn.destroy("tunnel closed");
  };
  client.on("close", onClose);
  awaitClientHello(
    client,
    first,
    (h) => decideTunnelStart(h, expected, authority, true),
    limits.headerTimeoutMs,
    true,
    (verdict, hello) => {
      if (verdict !== "ok") {
        cutBy = verdict;
        return onClose();
      }
      client.pause();
      client.unshift(hello);
      const tls = new TLSSocket(client, {
        isServer: true,
        ...SERVER_TLS,
        secureContext: termination.leaves.contextFor(expected),
        ALPNProtocols: ["http/1.1"],
      });
      // The handshake within header_timeout, like a request head.
      const handshake = setTimeout(() => {
        error = "TLS handshake with the client not finished in time";
        tls.destroy();
      }, limits.headerTimeoutMs);
      let served = false;
      tls.once("secure", () => {
        clearTimeout(handshake);
        served = true;
        const hooks = {
          connections: () => {},
          tunnels: () => {},
          bytes: (direction: "up" | "down", n: number) => {
            if (direction === "up") ex.bytesUp += n;
            else ex.bytesDown += n;
            conn.hooks.bytes(direction, n);
          },
        };
        conn
          .within(tls, hooks, {
            ...inside,
            upstream: { minVersion: upstreamMinVersion(tls.getProtocol()), trust: termination.trust },
          })
          .start();
      });
      tls.on("error", (err: Error) => {
        clearTimeout(handshake);
        // Most often the agent does not trust the gate's CA: say so where the operator looks.
        if (!served) error ??= `TLS handshake with the client failed: ${err.message}`;
        tls.destroy();
      });
      tls.on("close", () => {
        clearTimeout(handshake);
        // A client that rejects the leaf often just hangs up, with no alert to read.
        if (!served)
          error ??= "TLS handshake with the client failed: it closed the connection (does it trust the gate CA?)";
        client.destroy();
        onClose();
      });
    },
  );
}
