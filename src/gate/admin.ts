// The admin listener (127.0.0.1 by default): Prometheus metrics, health, the live event
// stream for the dashboard, and the approvals API the CLI uses.
import http from "node:http";
import { type AddressInfo, isIP } from "node:net";
import type { ApprovalRequest, Approvals } from "./approvals.ts";
import type { EventBus } from "./events.ts";
import { alertFields, decisionFields } from "./log.ts";
import type { GateMetrics } from "./metrics.ts";

export interface AdminDeps {
  metrics: GateMetrics;
  /** metrics text from somewhere else (all workers of a cluster); falls back to this process */
  metricsText?: () => Promise<string>;
  bus: EventBus;
  approvals: Approvals;
  ready(): boolean;
  policyHash(): string;
  approve(id: string, forMs: number, actor: string): ApprovalRequest;
  deny(id: string, actor: string): ApprovalRequest;
}

const MAX_BODY = 16384;

function send(res: http.ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = typeof body === "string" ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
  res.end(text);
}

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch {
        reject(new Error("body is not JSON"));
      }
    });
    req.on("error", reject);
  });
}

export function createAdminServer(deps: AdminDeps): http.Server {
  const streams = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://admin");
    const path = url.pathname;
    // DNS rebinding: a web page whose name now points at 127.0.0.1 is "same origin" with this
    // API. Only Host values that are addresses or localhost are accepted, never a domain.
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
    if (host !== "localhost" && !isIP(host)) return send(res, 421, { error: "Host must be an address or localhost" });
    try {
      if (req.method === "GET" && path === "/metrics") {
        const text = deps.metricsText
          ? await deps.metricsText().catch(() => deps.metrics.registry.metrics())
          : await deps.metrics.registry.metrics();
        return send(res, 200, text, deps.metrics.registry.contentType);
      }
      if (req.method === "GET" && path === "/healthz") return send(res, 200, { status: "ok" });
      if (req.method === "GET" && path === "/readyz") {
        return deps.ready()
          ? send(res, 200, { status: "ready", policy: deps.policyHash() })
          : send(res, 503, { status: "starting" });
      }
      if (req.method === "GET" && path === "/events") {
        res.writeHead(200, {
          "Content-Type": "text/event-stream",
          "Cache-Control": "no-store",
          Connection: "keep-alive",
        });
        res.write(": corral gate events\n\n");
        const onDecision = (ev: Parameters<typeof decisionFields>[0]) =>
          res.write(
            `event: decision\ndata: ${JSON.stringify({ "@timestamp": new Date(ev.time).toISOString(), ...decisionFields(ev) })}\n\n`,
          );
        const onAlert = (a: Parameters<typeof alertFields>[0]) =>
          res.write(
            `event: alert\ndata: ${JSON.stringify({ "@timestamp": new Date(a.time).toISOString(), message: a.message, ...alertFields(a) })}\n\n`,
          );
        deps.bus.on("decision", onDecision);
        deps.bus.on("alert", onAlert);
        streams.add(res);
        res.on("close", () => {
          deps.bus.off("decision", onDecision);
          deps.bus.off("alert", onAlert);
          streams.delete(res);
        });
        return;
      }
      if (req.method === "GET" && path === "/approvals") return send(res, 200, { requests: deps.approvals.list() });
      const m = /^\/approvals\/([0-9a-f]{1,32})\/(approve|deny)$/.exec(path);
      if (req.method === "POST" && m) {
        // Browsers cannot send JSON cross-origin without a preflight we never answer: CSRF guard.
        if (!(req.headers["content-type"] ?? "").startsWith("application/json"))
          return send(res, 415, { error: "send application/json" });
        const body = await readJson(req);
        const actor = typeof body.actor === "string" ? body.actor.slice(0, 100) : "admin-api";
        if (!deps.approvals.get(m[1]!)) return send(res, 404, { error: `no approval request '${m[1]}'` });
        if (m[2] === "approve") {
          const forMs = typeof body.forMs === "number" && body.forMs > 0 ? body.forMs : 3_600_000;
          return send(res, 200, deps.approve(m[1]!, forMs, actor));
        }
        return send(res, 200, deps.deny(m[1]!, actor));
      }
      send(res, 404, { error: "not found" });
    } catch (err) {
      send(res, 400, { error: (err as Error).message });
    }
  });
  server.on("close", () => {
    for (const s of streams) s.destroy();
  });
  return server;
}

export function listenAdmin(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
