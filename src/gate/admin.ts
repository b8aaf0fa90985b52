// The admin listener (127.0.0.1 by default): Prometheus metrics, health, the live event
// stream for the dashboard, and the approvals API the CLI uses. Everything but health (and
// /metrics unless told otherwise) needs `Authorization: Bearer <admin token>`: approvals and
// per-run identities must not be open to every local process.
import http from "node:http";
import { type AddressInfo, isIP } from "node:net";
import { bearerMatches } from "./admin-token.ts";
import type { ApprovalRequest, Approvals } from "./approvals.ts";
import { MAX_TTL_MS, RUN_ID } from "./ephemeral.ts";
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
  /** `ip`: the admin API caller's address, recorded with the operator's name */
  approve(id: string, forMs: number, actor: string, ip?: string): ApprovalRequest;
  deny(id: string, actor: string, ip?: string): ApprovalRequest;
  /** the bearer token every non-public endpoint requires */
  token: string;
  /** serve /metrics without the token (Prometheus on loopback); default true */
  metricsPublic?: boolean;
  /** per-run identities; absent: the endpoints answer 404 */
  mintRun?(parent: string, run: string, ttlMs: number): { token: string; expires: number };
  releaseRun?(token: string): boolean;
  /** appends a record other processes report (the gate holds the audit log's lock) */
  appendAudit?(
    kind: RemoteAuditKind,
    actor: { identity: string; ip?: string },
    data: Record<string, unknown>,
  ): Promise<unknown>;
}

export const REMOTE_AUDIT_KINDS = ["sandbox.run", "login", "approval"] as const;
export type RemoteAuditKind = (typeof REMOTE_AUDIT_KINDS)[number];
const MAX_AUDIT_DATA = 8192;
const ACTOR = /^[\w.:@/+-]{1,128}$/;

/** A reported audit record, checked: kind restricted, actor a short name, data a small JSON object. */
export function checkAuditRecord(
  body: Record<string, unknown>,
  callerIp: string,
): { kind: RemoteAuditKind; actor: { identity: string; ip?: string }; data: Record<string, unknown> } | string {
  const kind = body.kind;
  if (typeof kind !== "string" || !(REMOTE_AUDIT_KINDS as readonly string[]).includes(kind))
    return `kind must be one of ${REMOTE_AUDIT_KINDS.join(", ")}`;
  const raw = body.actor;
  const a = typeof raw === "string" ? { identity: raw } : (raw as { identity?: unknown; ip?: unknown } | undefined);
  if (!a || typeof a !== "object" || typeof a.identity !== "string" || !ACTOR.test(a.identity))
    return "actor must be a name of 1-128 characters [A-Za-z0-9_.:@/+-] or {identity, ip?}";
  if (a.ip !== undefined && (typeof a.ip !== "string" || !isIP(a.ip))) return "actor.ip must be an IP address";
  const data = body.data;
  if (!data || typeof data !== "object" || Array.isArray(data)) return "data must be a JSON object";
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_AUDIT_DATA) return `data larger than ${MAX_AUDIT_DATA} bytes`;
  // The record names who delivered it: an authenticated local process, not the actor itself.
  return {
    kind: kind as RemoteAuditKind,
    actor: { identity: a.identity, ip: typeof a.ip === "string" ? a.ip : callerIp },
    data: data as Record<string, unknown>,
  };
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
    const open =
      (req.method === "GET" && (path === "/healthz" || path === "/readyz")) ||
      (req.method === "GET" && path === "/metrics" && deps.metricsPublic !== false);
    if (!open && !bearerMatches(req.headers.authorization, deps.token)) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="corral-gate"');
      return send(res, 401, {
        error: "admin token required: Authorization: Bearer <state_dir/admin.token or $CORRAL_GATE_ADMIN_TOKEN>",
      });
    }
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
          return send(res, 200, deps.approve(m[1]!, forMs, actor, req.socket.remoteAddress));
        }
        return send(res, 200, deps.deny(m[1]!, actor, req.socket.remoteAddress));
      }
      if (path === "/identities/ephemeral" && req.method === "POST" && deps.mintRun) {
        if (!(req.headers["content-type"] ?? "").startsWith("application/json"))
          return send(res, 415, { error: "send application/json" });
        const body = await readJson(req);
        if (typeof body.parent !== "string" || typeof body.run !== "string" || !RUN_ID.test(body.run))
          return send(res, 400, { error: "need {parent: identity, run: run id [A-Za-z0-9._:-]{1,64}, ttlMs?}" });
        const ttlMs = typeof body.ttlMs === "number" && body.ttlMs > 0 ? Math.min(body.ttlMs, MAX_TTL_MS) : 3_600_000;
        return send(res, 201, deps.mintRun(body.parent, body.run, ttlMs));
      }
      const eph = /^\/identities\/ephemeral\/([A-Za-z0-9_]{1,128})$/.exec(path);
      if (eph && req.method === "DELETE" && deps.releaseRun) {
        return deps.releaseRun(eph[1]!)
          ? send(res, 200, { released: true })
          : send(res, 404, { error: "no such token" });
      }
      if (path === "/audit/records" && req.method === "POST" && deps.appendAudit) {
        if (!(req.headers["content-type"] ?? "").startsWith("application/json"))
          return send(res, 415, { error: "send application/json" });
        const checked = checkAuditRecord(await readJson(req), req.socket.remoteAddress ?? "");
        if (typeof checked === "string") return send(res, 400, { error: checked });
        try {
          await deps.appendAudit(checked.kind, checked.actor, checked.data);
        } catch (err) {
          // The log stopped (disk full, closing): the reporter falls back or warns.
          return send(res, 503, { error: `audit log unavailable: ${(err as Error).message}` });
        }
        return send(res, 201, { recorded: true });
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
