// One client connection: requests read one at a time (pipelined bytes wait in the buffer),
// strict head parsing, the gate's limits, the caller's identity, and every destination routed
// through route(). It never decides; it carries out decisions, and ends every request's
// Exchange exactly once.
import type net from "node:net";
import type { GateContext } from "../context.ts";
import { BodyScanner, brokerRequest } from "../credentials/broker.ts";
import { canonicalHost, destinationKey } from "../credentials/credential-index.ts";
import { DEFAULT_RULE, type Decision } from "../decide.ts";
import { decideHttpRequest } from "../decide-http.ts";
import { badRequest, decideHostHeader, limited } from "../decide-request.ts";
import { resolveCaller } from "../identity.ts";
import type { ConnectionCounter, RateLimiter } from "../limits.ts";
import { reasonText } from "../reason.ts";
import type { UpstreamTls } from "../tls/tls-upstream.ts";
import { BodyReader } from "./body.ts";
import { errorResponse } from "./error-response.ts";
import { type Decided, Exchange } from "./exchange.ts";
import { forward } from "./forward.ts";
import { type Head, headEnd, headerValues, parseRequestHead } from "./http-head.ts";
import { authorityFor, type ForwardRequest, interpretOriginRequest, interpretRequest, requestHead } from "./request.ts";
import { route } from "./route.ts";
import type { ProxyHooks } from "./server.ts";
import { terminate } from "./terminate.ts";
import { tunnel } from "./tunnel.ts";

const UNKNOWN_CREDENTIAL: Decision = Object.freeze({
  verdict: "deny",
  mode: "enforce",
  code: "identity-unknown",
  detail: "Proxy-Authorization matches no identity",
  rule: DEFAULT_RULE,
});

export interface Upstream {
  sock: net.Socket;
  key: string;
}

/**
 * A connection inside a tunnel the gate terminated: the caller and destination were decided on
 * the CONNECT, each request inside is decided again (route, request rules, credentials).
 */
export interface Inside {
  identity: string | undefined;
  run?: string;
  sourceIp: string;
  /** the outer connection's limit key */
  key: string;
  /** the CONNECT authority as written */
  host: string;
  port: number;
  upstream: Omit<UpstreamTls, "name">;
}

export class ClientConnection {
  buf: Buffer = Buffer.alloc(0);
  state: "head" | "busy" | "tunnel" | "closed" = "head";
  upstream: Upstream | undefined;
  /** the request being served; ended (published) by whatever ends it */
  current: Exchange | undefined;
  readonly sourceIp: string;
  private headerTimer: NodeJS.Timeout | undefined;
  private counted: string | undefined;
  readonly sock: net.Socket;
  readonly ctx: GateContext;
  readonly hooks: ProxyHooks;
  private readonly perIdentity: ConnectionCounter;
  private readonly rate: RateLimiter;
  private readonly inside: Inside | undefined;

  constructor(
    sock: net.Socket,
    ctx: GateContext,
    hooks: ProxyHooks,
    perIdentity: ConnectionCounter,
    rate: RateLimiter,
    inside?: Inside,
  ) {
    this.sock = sock;
    this.ctx = ctx;
    this.hooks = hooks;
    this.perIdentity = perIdentity;
    this.rate = rate;
    this.inside = inside;
    this.sourceIp = inside?.sourceIp ?? sock.remoteAddress ?? "";
  }

  /** The connection inside a tunnel this one terminated: the same limits, its own requests. */
  within(sock: net.Socket, hooks: ProxyHooks, inside: Inside): ClientConnection {
    return new ClientConnection(sock, this.ctx, hooks, this.perIdentity, this.rate, inside);
  }

  start(): void {
    const limits = this.ctx.snapshot().limits;
    this.sock.setNoDelay(true);
    this.sock.setTimeout(limits.idleTimeoutMs, () => this.destroy("idle timeout"));
    this.sock.on("error", () => this.destroy("client connection error"));
    this.sock.on("close", () => this.destroy("client closed the connection"));
    this.sock.on("data", (d) => this.onData(d));
    this.armHeaderTimer();
  }

  private armHeaderTimer(): void {
    clearTimeout(this.headerTimer);
    const ms = this.ctx.snapshot().limits.headerTimeoutMs;
    // Slowloris: the whole head must arrive within header_timeout of the connection or of the
    // previous response, however slowly its bytes trickle in.
    this.headerTimer = setTimeout(() => {
      if (this.state === "head") this.refuse(408, badRequest("request head not received in time"));
    }, ms);
  }

  /** Cuts the connection; a request still being served ends with `why`. */
  destroy(why: string): void {
    if (this.state === "closed") return;
    // A tunnel ends its own request when either side closes (tunnel.ts), with its byte counts.
    const tunnelled = this.state === "tunnel";
    this.state = "closed";
    clearTimeout(this.headerTimer);
    this.sock.destroy();
    this.upstream?.sock.destroy();
    this.upstream = undefined;
    this.release();
    if (!tunnelled && this.current && !this.current.ended) this.current.end({ error: why });
  }

  private release(): void {
    if (this.counted !== undefined) this.perIdentity.close(this.counted);
    this.counted = undefined;
  }

  /** Answers with the gate's own response and closes; the request ends with that status. */
  private respond(
    status: number,
    text: string,
    decision: Decision | undefined,
    error?: string,
    headers: [string, string][] = [],
  ): void {
    if (this.state === "closed") return;
    const ex = this.current ?? new Exchange(this.ctx, this.sourceIp);
    this.current = ex;
    const ev = ex.end({ status, ...(decision ? { decision } : {}), ...(error !== undefined ? { error } : {}) });
    const extra: [string, string][] = [["X-Corral-Rule", ev.decision.rule.id]];
    if (ev.approvalId) extra.push(["X-Corral-Approval", ev.approvalId]);
    extra.push(...headers);
    this.state = "closed";
    clearTimeout(this.headerTimer);
    this.upstream?.sock.destroy();
    this.release();
    this.sock.end(errorResponse(status, text, extra));
    // Do not wait for the client to read; end() flushes, then the socket goes.
    setTimeout(() => this.sock.destroy(), 1000).unref();
  }

  /** A denial (the request's own decision, or one made now). */
  refuse(status: number, decision?: Decision, headers: [string, string][] = []): void {
    const d = decision ?? this.current?.decision;
    this.respond(status, `denied: ${d ? reasonText(d) : "request refused"}`, decision, undefined, headers);
  }

  /** The request was allowed and could not be served. */
  failed(status: number, error: string): void {
    this.respond(status, `failed: ${error}`, undefined, error);
  }

  private onData(d: Buffer): void {
    if (this.state === "closed" || this.state === "tunnel") return;
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.state === "head") this.tryHead();
  }

  /** The response is complete: read the next request, or close when either side asked to. */
  finished(close: boolean): void {
    if (this.state === "closed") return;
    if (close) {
      this.state = "closed";
      this.sock.end();
      this.upstream?.sock.destroy();
      this.upstream = undefined;
      this.release();
      return;
    }
    this.current = undefined;
    this.state = "head";
    this.armHeaderTimer();
    this.sock.resume();
    if (this.buf.length > 0) this.tryHead();
  }

  private tryHead(): void {
    const limits = this.ctx.snapshot().limits;
    // Tolerate blank lines between pipelined requests (RFC 9112 §2.2), nothing else.
    while (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) this.buf = this.buf.subarray(2);
    const end = headEnd(this.buf);
    if (end < 0) {
      if (this.buf.length > limits.headerBytes) this.refuse(431, badRequest("request head too large"));
      return;
    }
    if (end - 4 > limits.headerBytes) {
      this.refuse(431, badRequest("request head too large"));
      return;
    }
    this.current = new Exchange(this.ctx, this.sourceIp);
    const head = parseRequestHead(this.buf.subarray(0, end - 4), limits.headerCount);
    this.buf = this.buf.subarray(end);
    if ("error" in head) {
      this.refuse(head.status, badRequest(head.error));
      return;
    }
    clearTimeout(this.headerTimer);
    this.state = "busy";
    this.sock.pause();
    this.handle(head, this.current).catch((err: Error) => this.failed(502, `internal error: ${err.message}`));
  }

  private async handle(head: Head, ex: Exchange): Promise<void> {
    if (this.inside) return this.handleInside(head, ex, this.inside);
    let snap = this.ctx.snapshot();
    const auth = headerValues(head, "proxy-authorization");
    if (auth.length > 1) return this.refuse(400, badRequest("more than one Proxy-Authorization"));
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
        return this.refuse(429, limited("rate-limited", "too many connections"));
      this.counted = key;
    }
    if (!this.rate.take(key, snap.limits.perIdentityRps, this.ctx.now()))
      return this.refuse(429, limited("rate-limited", "request rate"));

    const req = interpretRequest(head);
    if (req.kind === "error") return this.refuse(req.status, badRequest(req.reason));
    const transport = req.kind === "connect" ? "connect" : "http";
    const who = { transport, identity: caller.identity, name: req.host, port: req.port, run: caller.run } as const;
    if (caller.identity === undefined && auth.length === 1) {
      // A credential was offered and matched no identity: ask again rather than fall back.
      ex.decide({ ...who, decision: UNKNOWN_CREDENTIAL });
      return this.refuse(407, UNKNOWN_CREDENTIAL, [["Proxy-Authenticate", 'Basic realm="corral"']]);
    }
    if (req.kind === "forward") return this.relayRequest(req, ex, who, undefined);
    const r = await route(this.ctx, caller.identity, req.host, req.port);
    ex.decide({ ...who, decision: r.decision, ...(r.addr ? { ip: r.addrText } : {}) });
    if (r.decision.verdict === "deny") return this.refuse(403);
    const terminated = snap.index.credentials.terminated;
    if (terminated.size > 0 && terminated.has(destinationKey(r.name ?? canonicalHost(req.host), req.port))) {
      const termination = this.ctx.termination?.();
      // Never an opaque tunnel where the policy wants each request seen: fail closed.
      if (!termination) return this.failed(502, "the gate cannot terminate TLS for this destination (no CA loaded)");
      return terminate(this, ex, r, req, termination, {
        identity: caller.identity,
        ...(caller.run !== undefined ? { run: caller.run } : {}),
        sourceIp: this.sourceIp,
        key,
        host: req.host,
        port: req.port,
      });
    }
    if (!r.addr) return this.failed(502, r.failure ?? `no route to ${req.host}`);
    return tunnel(this, ex, r, r.addr, req);
  }

  private async handleInside(head: Head, ex: Exchange, inside: Inside): Promise<void> {
    const snap = this.ctx.snapshot();
    if (!this.rate.take(inside.key, snap.limits.perIdentityRps, this.ctx.now()))
      return this.refuse(429, limited("rate-limited", "request rate"));
    const req = interpretOriginRequest(head, inside);
    if (req.kind === "error") return this.refuse(req.status, badRequest(req.reason));
    const who = {
      transport: "https",
      identity: inside.identity,
      name: inside.host,
      port: inside.port,
      ...(inside.run !== undefined ? { run: inside.run } : {}),
    } as const;
    return this.relayRequest(req, ex, who, inside.upstream);
  }

  /**
   * One HTTP request to relay (a plain forward, or one inside a terminated tunnel): its route,
   * the Host check, the request rules, the credential broker, then the upstream.
   */
  private async relayRequest(
    req: ForwardRequest,
    ex: Exchange,
    who: Omit<Decided, "decision">,
    tls: Omit<UpstreamTls, "name"> | undefined,
  ): Promise<void> {
    const path = req.target.split("?", 1)[0]!;
    const asked: Omit<Decided, "decision"> = { ...who, http: { method: req.method, path } };
    const mismatch = decideHostHeader(req.hostHeader, req, tls ? 443 : 80);
    if (mismatch) {
      ex.decide({ ...asked, decision: mismatch });
      return this.refuse(403);
    }
    const r = await route(this.ctx, who.identity, req.host, req.port);
    const at = r.addr ? { ip: r.addrText } : {};
    ex.decide({ ...asked, decision: r.decision, ...at });
    if (r.decision.verdict === "deny") return this.refuse(403);
    if (!r.addr) return this.failed(502, r.failure ?? `no route to ${req.host}`);
    const name = r.name ?? canonicalHost(req.host);
    const credentials = this.ctx.snapshot().index.credentials;
    const rules = decideHttpRequest(credentials, who.identity, {
      host: name,
      port: req.port,
      method: req.method,
      path,
    });
    if (rules?.verdict === "deny") {
      ex.decide({ ...asked, decision: rules, ...at });
      return this.refuse(403);
    }
    const brokered = brokerRequest(
      credentials,
      {
        identity: who.identity,
        host: name,
        port: req.port,
        method: req.method,
        target: req.target,
        headers: req.headers,
        tls: tls !== undefined,
      },
      (c) => this.ctx.termination?.()?.value(c),
    );
    if (brokered.kind === "deny") {
      ex.decide({ ...asked, decision: brokered.decision, ...at });
      return this.refuse(403);
    }
    if (brokered.kind === "unavailable")
      return this.failed(502, `the gate has no value for credential '${brokered.credential}'`);
    const decision = brokered.decision ?? rules ?? r.decision;
    ex.decide({ ...asked, decision, ...at, ...(brokered.used.length ? { credentials: brokered.used } : {}) });
    const out =
      brokered.used.length > 0
        ? // With a real key on it, the Host is the destination's own spelling, not the client's.
          requestHead(req.method, brokered.target, authorityFor(name, req.port, tls ? 443 : 80), brokered.headers)
        : req.out;
    const scanner =
      credentials.placeholders.length > 0 && req.framing.kind !== "none"
        ? new BodyScanner(credentials.placeholders)
        : undefined;
    const upKey = `${who.identity}|${r.addrText}|${req.port}|${name}|${tls ? "tls" : "tcp"}`;
    await forward(this, ex, upKey, r.addr, req.port, out, new BodyReader(req.framing), req.method, req.close, {
      ...(tls ? { tls: { ...tls, name } } : {}),
      ...(scanner ? { scanner } : {}),
    });
  }
}
