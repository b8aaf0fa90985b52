// The HTTP proxy transport: CONNECT tunnels and absolute-URI forwarding on a raw net server.
// One request at a time per client connection (pipelined bytes wait in the buffer), strict
// head parsing, limits, and every destination routed through route() — this file never
// decides, it only carries out decisions.
import net from "node:net";
import type { GateContext } from "../context.ts";
import type { Decision } from "../decide.ts";
import type { DecisionEvent, TunnelEvent } from "../events.ts";
import { resolveCaller } from "../identity.ts";
import { ConnectionCounter, RateLimiter } from "../limits.ts";
import { type Addr, formatAddr } from "../ssrf.ts";
import { batchWrites } from "./batch.ts";
import { BodyReader } from "./body.ts";
import {
  endToEndHeaders,
  type Head,
  headEnd,
  headerValues,
  parseRequestHead,
  parseResponseHead,
  responseFraming,
  serializeHead,
  wantsClose,
} from "./http-head.ts";
import { interpretRequest, sameHost } from "./request.ts";
import { type Route, route } from "./route.ts";
import { parseClientHello } from "./tls-sni.ts";

export interface ProxyHooks {
  tunnel(ev: TunnelEvent): void;
  connections(delta: number): void;
  tunnels(delta: number): void;
  bytes(direction: "up" | "down", n: number): void;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

const MAX_RESPONSE_HEAD = 65536;
const CONNECT_TIMEOUT_MS = 10_000;

function errorResponse(status: number, reason: string, extra: [string, string][] = []): Buffer {
  const body = `corral gate: ${reason}\n`;
  const headers: [string, string][] = [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(Buffer.byteLength(body))],
    ["Connection", "close"],
    ["X-Corral-Reason", reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)],
    ...extra,
  ];
  return Buffer.concat([
    serializeHead(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`, headers),
    Buffer.from(body),
  ]);
}

interface Upstream {
  sock: net.Socket;
  key: string;
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
      // Drain what the client sends so its FIN is seen and the socket closes; unread, it would
      // stay open (and hold close()) forever. The timer bounds a client that never closes.
      sock.resume();
      sock.end(errorResponse(503, "gate at max connections"));
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

class ClientConnection {
  private readonly sock: net.Socket;
  private readonly ctx: GateContext;
  private readonly hooks: ProxyHooks;
  private readonly perIdentity: ConnectionCounter;
  private readonly rate: RateLimiter;
  private buf: Buffer = Buffer.alloc(0);
  private state: "head" | "busy" | "tunnel" | "closed" = "head";
  private headerTimer: NodeJS.Timeout | undefined;
  private counted: string | undefined;
  private upstream: Upstream | undefined;
  private readonly sourceIp: string;

  constructor(
    sock: net.Socket,
    ctx: GateContext,
    hooks: ProxyHooks,
    perIdentity: ConnectionCounter,
    rate: RateLimiter,
  ) {
    this.sock = sock;
    this.ctx = ctx;
    this.hooks = hooks;
    this.perIdentity = perIdentity;
    this.rate = rate;
    this.sourceIp = sock.remoteAddress ?? "";
  }

  start(): void {
    const limits = this.ctx.snapshot().limits;
    this.sock.setNoDelay(true);
    this.sock.setTimeout(limits.idleTimeoutMs, () => this.destroy());
    this.sock.on("error", () => this.destroy());
    this.sock.on("close", () => this.destroy());
    this.sock.on("data", (d) => this.onData(d));
    this.armHeaderTimer();
  }

  private armHeaderTimer(): void {
    clearTimeout(this.headerTimer);
    const ms = this.ctx.snapshot().limits.headerTimeoutMs;
    // Slowloris: the whole head must arrive within header_timeout of the connection or of the
    // previous response, however slowly its bytes trickle in.
    this.headerTimer = setTimeout(() => {
      if (this.state === "head") this.fail(408, "request head not received in time");
    }, ms);
  }

  private destroy(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearTimeout(this.headerTimer);
    this.sock.destroy();
    this.upstream?.sock.destroy();
    this.upstream = undefined;
    if (this.counted !== undefined) this.perIdentity.close(this.counted);
  }

  private fail(status: number, reason: string, extra: [string, string][] = []): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearTimeout(this.headerTimer);
    this.upstream?.sock.destroy();
    if (this.counted !== undefined) this.perIdentity.close(this.counted);
    this.sock.end(errorResponse(status, reason, extra));
    // Do not wait for the client to read; end() flushes, then the socket goes.
    setTimeout(() => this.sock.destroy(), 1000).unref();
  }

  private onData(d: Buffer): void {
    if (this.state === "closed" || this.state === "tunnel") return;
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.state === "head") this.tryHead();
  }

  private tryHead(): void {
    const limits = this.ctx.snapshot().limits;
    // Tolerate blank lines between pipelined requests (RFC 9112 §2.2), nothing else.
    while (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) this.buf = this.buf.subarray(2);
    const end = headEnd(this.buf);
    if (end < 0) {
      if (this.buf.length > limits.headerBytes) this.fail(431, "request head too large");
      return;
    }
    if (end - 4 > limits.headerBytes) {
      this.fail(431, "request head too large");
      return;
    }
    const head = parseRequestHead(this.buf.subarray(0, end - 4), limits.headerCount);
    this.buf = this.buf.subarray(end);
    if ("error" in head) {
      this.fail(head.status, head.error);
      return;
    }
    clearTimeout(this.headerTimer);
    this.state = "busy";
    this.sock.pause();
    this.handle(head).catch((err: Error) => this.fail(502, `internal error: ${err.message}`));
  }

  private event(
    decision: Decision,
    transport: DecisionEvent["transport"],
    identity: string | undefined,
    host: string,
    port: number,
    started: number,
    addr?: Addr,
    run?: string,
    addrText?: string,
  ): DecisionEvent {
    const ev: DecisionEvent = {
      time: this.ctx.now(),
      transport,
      sourceIp: this.sourceIp,
      identity,
      name: decision.name ?? host,
      port,
      decision,
      latencyMs: performance.now() - started,
    };
    if (addr) ev.ip = addrText ?? formatAddr(addr);
    if (run !== undefined) ev.run = run;
    this.ctx.publish(ev);
    return ev;
  }

  private async handle(head: Head): Promise<void> {
    const started = performance.now();
    let snap = this.ctx.snapshot();
    const auth = headerValues(head, "proxy-authorization");
    if (auth.length > 1) return this.fail(400, "more than one Proxy-Authorization");
    let caller = resolveCaller(snap.index, this.sourceIp, auth[0]);
    const learning = caller.via === "none" && auth.length === 0 ? this.ctx.identify?.(this.sourceIp) : undefined;
    if (learning) {
      // A replica that started a moment ago: learn its address before deciding.
      await learning;
      snap = this.ctx.snapshot();
      caller = resolveCaller(snap.index, this.sourceIp, auth[0]);
    }
    const key = caller.identity ?? `?${this.sourceIp}`;
    if (this.counted === undefined) {
      if (!this.perIdentity.open(key, snap.limits.perIdentityConnections))
        return this.fail(429, "too many connections for this identity");
      this.counted = key;
    }
    if (!this.rate.take(key, snap.limits.perIdentityRps, this.ctx.now()))
      return this.fail(429, "request rate limit for this identity");

    const req = interpretRequest(head);
    if (req.kind === "error") return this.fail(req.status, req.reason);
    const r = await route(this.ctx, caller.identity, req.host, req.port);
    const ev = this.event(
      r.decision,
      req.kind === "connect" ? "connect" : "http",
      caller.identity,
      req.host,
      req.port,
      started,
      r.addr,
      caller.run,
      r.addrText,
    );
    if (!r.addr) return this.deny(r, ev);
    if (req.kind === "connect") return this.connect(r, r.addr, req, caller.identity);
    const upKey = `${caller.identity}|${r.addrText ?? formatAddr(r.addr)}|${req.port}|${req.host}`;
    await this.forward(upKey, r.addr, req.port, req.out, new BodyReader(req.framing), req.method, req.close);
  }

  private deny(r: Route, ev: DecisionEvent): void {
    const extra: [string, string][] = [["X-Corral-Rule", r.decision.rule.id]];
    if (ev.approvalId) extra.push(["X-Corral-Approval", ev.approvalId]);
    const status = "status" in r ? r.status : 403;
    this.fail(status, `${r.decision.verdict === "deny" ? "denied" : "failed"}: ${r.decision.reason}`, extra);
  }

  private dial(addr: Addr, port: number): Promise<net.Socket | undefined> {
    return new Promise((resolve) => {
      const s = net.connect({ host: formatAddr(addr), port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(undefined);
      }, CONNECT_TIMEOUT_MS);
      s.once("connect", () => {
        clearTimeout(timer);
        s.removeAllListeners("error");
        resolve(s);
      });
      s.once("error", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }

  private async connect(
    r: Route,
    addr: Addr,
    authority: { host: string; port: number },
    identity: string | undefined,
  ): Promise<void> {
    const up = await this.dial(addr, authority.port);
    if (this.state === "closed") {
      up?.destroy();
      return;
    }
    if (!up) return this.fail(502, `cannot connect to ${formatAddr(addr)}:${authority.port}`);
    this.state = "tunnel";
    this.upstream = { sock: up, key: "tunnel" };
    this.sock.write("HTTP/1.1 200 Connection established\r\n\r\n");
    const limits = this.ctx.snapshot().limits;
    let hello = this.buf;
    this.buf = Buffer.alloc(0);
    const expected = r.name ?? authority.host;
    const verify = (): "wait" | "ok" | string => {
      if (hello.length === 0) return "wait";
      if (hello[0] !== 0x16)
        return authority.port === 443 ? "port 443 tunnel does not start with a TLS ClientHello" : "ok";
      const sni = parseClientHello(hello);
      if (sni.kind === "incomplete") return "wait";
      if (sni.kind === "invalid") return `malformed ClientHello: ${sni.reason}`;
      if (sni.name === undefined) return "ok";
      return sameHost(sni.name, expected)
        ? "ok"
        : `TLS SNI '${sni.name}' does not match CONNECT host '${authority.host}'`;
    };
    const started = Date.now();
    let bytesUp = 0;
    let bytesDown = 0;
    this.hooks.tunnels(1);
    const finish = () => {
      if (this.state !== "closed") this.destroy();
      up.destroy();
    };
    let closed = false;
    const onClose = () => {
      if (closed) return;
      closed = true;
      this.hooks.tunnels(-1);
      this.hooks.tunnel({
        time: this.ctx.now(),
        identity,
        destination: `${authority.host}:${authority.port}`,
        bytesUp,
        bytesDown,
        durationMs: Date.now() - started,
      });
      finish();
    };
    up.on("close", onClose);
    up.on("error", finish);
    this.sock.on("close", onClose);
    up.setTimeout(limits.idleTimeoutMs, finish);
    // Server-to-client bytes flow at once (server-first protocols such as SSH or SMTP);
    // client-to-server bytes wait until the first ones have been checked.
    up.on("data", (d: Buffer) => {
      bytesDown += d.length;
      this.hooks.bytes("down", d.length);
      if (!this.sock.write(d)) up.pause();
    });
    this.sock.on("drain", () => up.resume());
    up.on("end", () => this.sock.end());
    const startUp = () => {
      if (hello.length > 0) {
        bytesUp += hello.length;
        this.hooks.bytes("up", hello.length);
        up.write(hello);
      }
      this.sock.on("data", (d: Buffer) => {
        bytesUp += d.length;
        this.hooks.bytes("up", d.length);
        if (!up.write(d)) this.sock.pause();
      });
      up.on("drain", () => this.sock.resume());
      this.sock.on("end", () => up.end());
      this.sock.resume();
    };
    const first = verify();
    if (first === "ok") return startUp();
    if (first !== "wait") return this.tunnelDenied(first, identity, authority, addr, finish);
    // Hold client bytes until the ClientHello is complete (bounded by size and header_timeout);
    // on 443 the clock starts now, elsewhere when a handshake starts arriving.
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer ??= setTimeout(
        () => this.tunnelDenied("no complete ClientHello in time", identity, authority, addr, finish),
        limits.headerTimeoutMs,
      );
    };
    if (authority.port === 443 || hello.length > 0) arm();
    const onHello = (d: Buffer) => {
      hello = Buffer.concat([hello, d]);
      const v = hello.length > 70_000 ? "ClientHello too large" : verify();
      if (v === "wait") return arm();
      clearTimeout(timer);
      this.sock.off("data", onHello);
      if (v === "ok") startUp();
      else this.tunnelDenied(v, identity, authority, addr, finish);
    };
    this.sock.on("data", onHello);
    this.sock.resume();
  }

  private tunnelDenied(
    reason: string,
    identity: string | undefined,
    authority: { host: string; port: number },
    addr: Addr,
    finish: () => void,
  ): void {
    this.ctx.publish({
      time: this.ctx.now(),
      transport: "connect",
      sourceIp: this.sourceIp,
      identity,
      name: authority.host,
      ip: formatAddr(addr),
      port: authority.port,
      decision: { verdict: "deny", mode: "enforce", reason, rule: { id: "tls", name: "sni-check" } },
      latencyMs: 0,
    });
    finish();
  }

  private async forward(
    key: string,
    addr: Addr,
    port: number,
    head: Buffer,
    body: BodyReader,
    method: string,
    clientClose: boolean,
  ): Promise<void> {
    if (this.upstream && (this.upstream.key !== key || this.upstream.sock.destroyed)) {
      this.upstream.sock.destroy();
      this.upstream = undefined;
    }
    if (!this.upstream) {
      const s = await this.dial(addr, port);
      if (this.state === "closed") {
        s?.destroy();
        return;
      }
      if (!s) return this.fail(502, `cannot connect to ${formatAddr(addr)}:${port}`);
      s.setTimeout(this.ctx.snapshot().limits.idleTimeoutMs, () => s.destroy());
      s.on("error", () => {});
      this.upstream = { sock: s, key };
    }
    const up = this.upstream.sock;
    batchWrites(up);
    up.write(head);
    // Request body: what is already buffered, then the client stream, until framing says done.
    const pump = (): boolean => {
      if (body.done || this.buf.length === 0) return body.done;
      const f = body.feed(this.buf);
      if (f.error) {
        this.fail(400, f.error);
        return false;
      }
      if (f.consumed > 0) {
        this.hooks.bytes("up", f.consumed);
        up.write(this.buf.subarray(0, f.consumed));
      }
      this.buf = this.buf.subarray(f.consumed);
      return f.done;
    };
    await new Promise<void>((resolve) => {
      let respHead: Buffer = Buffer.alloc(0);
      let reader: BodyReader | undefined;
      let closeAfter = clientClose;
      let finished = false;
      const cleanup = () => {
        up.off("data", onUp);
        up.off("close", onUpClose);
        this.sock.off("data", onClient);
      };
      const complete = () => {
        if (finished) return;
        finished = true;
        cleanup();
        resolve();
        if (this.state === "closed") return;
        // The upstream answered before the request body ended: the rest of that body must not
        // be read as the next request, so this connection ends here.
        if (!body.done) closeAfter = true;
        if (closeAfter) {
          this.state = "closed";
          this.sock.end();
          up.destroy();
          this.upstream = undefined;
          if (this.counted !== undefined) this.perIdentity.close(this.counted);
          return;
        }
        this.state = "head";
        this.armHeaderTimer();
        this.sock.resume();
        if (this.buf.length > 0) this.tryHead();
      };
      const onClient = () => {
        // Pipelined bytes after this body stay in buf (onData) and wait for this response.
        if (!body.done) pump();
        if (body.done) this.sock.pause();
      };
      const onUpClose = () => {
        if (reader && !reader.done && responseDelimitedByClose) {
          closeAfter = true;
          complete();
          return;
        }
        cleanup();
        finished = true;
        resolve();
        if (this.state !== "closed") {
          if (respHead.length === 0 && !reader) this.fail(502, "upstream closed without a response");
          else this.destroy();
        }
      };
      let responseDelimitedByClose = false;
      // Corked until the end of the turn: a response head and its body leave in one write.
      const onUp = (d: Buffer) => {
        batchWrites(this.sock);
        relay(d);
      };
      const relay = (d: Buffer) => {
        if (this.state === "closed") return;
        let data = d;
        while (data.length > 0) {
          if (!reader) {
            respHead = respHead.length === 0 ? data : Buffer.concat([respHead, data]);
            const end = headEnd(respHead);
            if (end < 0) {
              if (respHead.length > MAX_RESPONSE_HEAD) return this.fail(502, "upstream response head too large");
              return;
            }
            const parsed = parseResponseHead(respHead.subarray(0, end - 4), 1000);
            const rawHead = respHead.subarray(0, end);
            data = respHead.subarray(end);
            respHead = Buffer.alloc(0);
            if ("error" in parsed) return this.fail(502, parsed.error);
            const status = Number(parsed.startLine[1]);
            if (status === 101) return this.fail(502, "upstream switched protocols");
            const framing = responseFraming(parsed, method);
            if ("error" in framing) return this.fail(502, framing.error);
            if (wantsClose(parsed, parsed.startLine[0])) closeAfter = true;
            if (framing.kind === "close") {
              closeAfter = true;
              responseDelimitedByClose = true;
            }
            if (!body.done) closeAfter = true;
            const headers = endToEndHeaders(parsed);
            const cleanReason = /^[\t\x20-\x7e]*$/.test(parsed.startLine[2]);
            if (
              !closeAfter &&
              cleanReason &&
              parsed.startLine[0] === "1.1" &&
              headers.length === parsed.headers.length
            ) {
              // Nothing to strip or add: the validated head goes out as it came.
              this.sock.write(rawHead);
            } else {
              if (closeAfter) headers.push(["Connection", "close"]);
              this.sock.write(serializeHead(`HTTP/1.1 ${parsed.startLine[1]} ${parsed.startLine[2]}`, headers));
            }
            if (status >= 100 && status < 200) continue; // interim: the final response follows
            reader = new BodyReader(framing);
            if (reader.done) {
              if (data.length > 0) closeAfter = true; // bytes beyond the response: do not trust this upstream
              return complete();
            }
            continue;
          }
          const f = reader.feed(data);
          if (f.error) return this.fail(502, `upstream ${f.error}`);
          if (f.consumed > 0) {
            this.hooks.bytes("down", f.consumed);
            if (!this.sock.write(data.subarray(0, f.consumed))) {
              up.pause();
              this.sock.once("drain", () => up.resume());
            }
          }
          data = data.subarray(f.consumed);
          if (f.done) {
            if (data.length > 0) closeAfter = true;
            return complete();
          }
        }
      };
      up.on("data", onUp);
      up.on("close", onUpClose);
      this.sock.on("data", onClient);
      const bodyDone = pump();
      if (bodyDone) this.sock.pause();
      else this.sock.resume();
    });
  }
}
