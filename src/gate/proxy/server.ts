// The HTTP proxy transport: CONNECT tunnels and absolute-URI forwarding on a raw net server.
// This file accepts connections and holds the gate-wide connection limit; each connection is a
// ClientConnection (connection.ts), which carries out decisions and never makes them.
import net from "node:net";
import type { GateContext } from "../context.ts";
import { limited } from "../decide-request.ts";
import { ConnectionCounter, RateLimiter } from "../limits.ts";
import { reasonText } from "../reason.ts";
import { ClientConnection } from "./connection.ts";
import { errorResponse } from "./error-response.ts";
import { Exchange } from "./exchange.ts";

export interface ProxyHooks {
  connections(delta: number): void;
  tunnels(delta: number): void;
  bytes(direction: "up" | "down", n: number): void;
}

export class ProxyServer {
  readonly server: net.Server;
  private readonly ctx: GateContext;
  private readonly hooks: ProxyHooks;
  private readonly perIdentity = new ConnectionCounter();
  private readonly rate = new RateLimiter();
  private readonly sockets = new Set<net.Socket>();
  private open = 0;

  constructor(ctx: GateContext, hooks: ProxyHooks) {
    this.ctx = ctx;
    this.hooks = hooks;
    this.server = net.createServer({ noDelay: true }, (sock) => this.accept(sock));
  }

  /** `reusePort`: each worker process binds its own socket and the kernel spreads connections. */
  listen(host: string, port: number, reusePort = false): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(
        { host, port, backlog: 4096, ...(reusePort ? { reusePort: true, exclusive: true } : {}) },
        () => {
          this.server.off("error", reject);
          const a = this.server.address() as net.AddressInfo;
          resolve({ host: a.address, port: a.port });
        },
      );
    });
  }

  /** Stops accepting; open tunnels are cut only when `force` (reload never forces). */
  close(force = true): Promise<void> {
    if (force) for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }

  get connectionCount(): number {
    return this.open;
  }

  private accept(sock: net.Socket): void {
    const limits = this.ctx.snapshot().limits;
    if (this.open >= limits.maxConnections) {
      sock.on("error", () => {});
      const decision = limited("overloaded", `${limits.maxConnections} connections`);
      new Exchange(this.ctx, sock.remoteAddress ?? "").end({ status: 503, decision });
      // Drain what the client sends so its FIN is seen and the socket closes; unread, it would
      // stay open (and hold close()) forever. The timer bounds a client that never closes.
      sock.resume();
      sock.end(errorResponse(503, reasonText(decision), [["X-Corral-Rule", decision.rule.id]]));
      setTimeout(() => sock.destroy(), 1000).unref();
      return;
    }
    this.open++;
    this.sockets.add(sock);
    this.hooks.connections(1);
    sock.on("close", () => {
      this.open--;
      this.sockets.delete(sock);
      this.hooks.connections(-1);
    });
    new ClientConnection(sock, this.ctx, this.hooks, this.perIdentity, this.rate).start();
  }
}
