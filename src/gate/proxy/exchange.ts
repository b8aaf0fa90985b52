// One proxied request from its first byte to its end, published exactly once when it ends —
// whatever ends it: the response, a denial, a failure, the client going away. That one event
// is the request's canonical log line, its metrics sample and its audit record.
import type { GateContext } from "../context.ts";
import type { Decision } from "../decide.ts";
import { badRequest } from "../decide-request.ts";
import type { DecisionEvent, Outcome } from "../events.ts";
import { resolveCaller } from "../identity.ts";

export interface Decided {
  decision: Decision;
  transport: "connect" | "http" | "https";
  identity: string | undefined;
  name: string;
  port: number;
  ip?: string;
  run?: string;
  http?: { method: string; path: string };
  credentials?: readonly string[];
}

export interface Ending {
  /** the status the client got; none when it left before one was sent */
  status?: number;
  /** a decision made at the end (the tunnel's TLS check, a limit), replacing the first */
  decision?: Decision;
  /** what failed or why the connection was cut */
  error?: string;
}

export class Exchange {
  readonly started = performance.now();
  bytesUp = 0;
  bytesDown = 0;
  private decided: (Decided & { latencyMs: number }) | undefined;
  private event: DecisionEvent | undefined;

  private readonly ctx: GateContext;
  private readonly sourceIp: string;

  constructor(ctx: GateContext, sourceIp: string) {
    this.ctx = ctx;
    this.sourceIp = sourceIp;
  }

  get ended(): boolean {
    return this.event !== undefined;
  }

  /** the decision made so far, if any */
  get decision(): Decision | undefined {
    return this.decided?.decision;
  }

  decide(d: Decided): void {
    this.decided = { ...d, latencyMs: performance.now() - this.started };
  }

  /** Publishes the request (once; later calls return the first event). */
  end(e: Ending): DecisionEvent {
    if (this.event) return this.event;
    const now = performance.now();
    const first = this.decided;
    const decision = e.decision ?? first?.decision ?? badRequest(e.error ?? "request not understood");
    const outcome: Outcome = decision.verdict === "deny" ? "denied" : e.error !== undefined ? "failure" : "success";
    const ev: DecisionEvent = {
      time: this.ctx.now(),
      transport: first?.transport ?? "http",
      sourceIp: this.sourceIp,
      identity: first ? first.identity : resolveCaller(this.ctx.snapshot().index, this.sourceIp).identity,
      decision,
      outcome,
      latencyMs: first?.latencyMs ?? now - this.started,
      durationMs: now - this.started,
    };
    if (first) {
      ev.name = decision.name ?? first.name;
      ev.port = first.port;
      if (first.ip !== undefined) ev.ip = first.ip;
      if (first.run !== undefined) ev.run = first.run;
      if (first.http !== undefined) ev.http = first.http;
      if (first.credentials?.length) ev.credentials = first.credentials;
    }
    if (e.status !== undefined) ev.status = e.status;
    if (this.bytesUp || this.bytesDown || first?.transport === "connect") {
      ev.bytesUp = this.bytesUp;
      ev.bytesDown = this.bytesDown;
    }
    if (e.error !== undefined) ev.error = e.error;
    this.event = ev;
    this.ctx.publish(ev);
    return ev;
  }
}
