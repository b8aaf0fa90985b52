// The admin listener (127.0.0.1 by default), on fastify: Prometheus metrics, health, the live
// event stream for the dashboard, the approvals API, per-run identities and the audit records
// other processes report. Everything but health (and /metrics unless told otherwise) needs
// `Authorization: Bearer <admin token>`: approvals and per-run identities must not be open to
// every local process. Bodies and parameters are checked by the zod schemas in schemas.ts.
import type http from "node:http";
import { type AddressInfo, isIP } from "node:net";
import Fastify, { type FastifyInstance, type FastifySchemaCompiler } from "fastify";
import type { z } from "zod";
import { bearerMatches } from "../admin-token.ts";
import type { ApprovalRequest, Approvals } from "../approvals.ts";
import type { EventBus } from "../events.ts";
import { alertFields, decisionFields } from "../log.ts";
import type { GateMetrics } from "../metrics.ts";
import {
  type AuditAnchors,
  approvalParams,
  approveBody,
  auditRecordBody,
  mintRunBody,
  type RemoteAuditKind,
  runTokenParams,
} from "./schemas.ts";

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
  /** where the audit log's checkpoints stand off the host (witnesses, anchor sinks) */
  auditAnchors?(): AuditAnchors;
  /** appends a record other processes report (the gate holds the audit log's lock) */
  appendAudit?(
    kind: RemoteAuditKind,
    actor: { identity: string; ip?: string },
    data: Record<string, unknown>,
  ): Promise<unknown>;
}

const MAX_BODY = 16384;
const DEFAULT_APPROVAL_MS = 3_600_000;
const DEFAULT_RUN_TTL_MS = 3_600_000;

/** zod as fastify's validator: the first issue, with its path, is the 400's message. */
const zodValidator: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const r = schema.safeParse(data);
    if (r.success) return { value: r.data };
    const issue = r.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    return { error: new Error(`${where}${issue?.message ?? "invalid request"}`) };
  };

const NO_STORE = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };

export function createAdminServer(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ bodyLimit: MAX_BODY, forceCloseConnections: true, logger: false, return503OnClosing: false });
  app.setValidatorCompiler(zodValidator);
  const streams = new Set<http.ServerResponse>();

  app.addHook("onRequest", async (req, reply) => {
    reply.headers(NO_STORE);
    // DNS rebinding: a web page whose name now points at 127.0.0.1 is "same origin" with this
    // API. Only Host values that are addresses or localhost are accepted, never a domain.
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
    if (host !== "localhost" && !isIP(host))
      return reply.code(421).send({ error: "Host must be an address or localhost" });
    const path = req.url.split("?")[0];
    const open =
      req.method === "GET" &&
      (path === "/healthz" || path === "/readyz" || (path === "/metrics" && deps.metricsPublic !== false));
    if (!open && !bearerMatches(req.headers.authorization, deps.token))
      return reply.code(401).header("WWW-Authenticate", 'Bearer realm="corral-gate"').send({
        error: "admin token required: Authorization: Bearer <state_dir/admin.token or $CORRAL_GATE_ADMIN_TOKEN>",
      });
    // Browsers cannot send JSON cross-origin without a preflight we never answer: CSRF guard.
    if (req.method === "POST" && !(req.headers["content-type"] ?? "").startsWith("application/json"))
      return reply.code(415).send({ error: "send application/json" });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: "not found" }));
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const status = err.validation ? 400 : (err.statusCode ?? 500);
    reply.code(status).send({ error: status === 500 ? `internal error: ${err.message}` : err.message });
  });
  // An empty JSON body is an empty object: `curl -X POST -H 'content-type: application/json'`.
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, body === "" ? {} : JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error("body is not JSON"), { statusCode: 400 }));
    }
  });

  app.get("/metrics", async (_req, reply) => {
    const text = deps.metricsText
      ? await deps.metricsText().catch(() => deps.metrics.registry.metrics())
      : await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) =>
    deps.ready() ? { status: "ready", policy: deps.policyHash() } : reply.code(503).send({ status: "starting" }),
  );

  app.get("/events", (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "Content-Type": "text/event-stream", Connection: "keep-alive", ...NO_STORE });
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
    req.raw.on("close", () => {
      deps.bus.off("decision", onDecision);
      deps.bus.off("alert", onAlert);
      streams.delete(res);
    });
  });

  app.get("/approvals", async () => ({ requests: deps.approvals.list() }));
  app.post<{ Params: z.infer<typeof approvalParams>; Body: z.infer<typeof approveBody> }>(
    "/approvals/:id/:verb",
    { schema: { params: approvalParams, body: approveBody } },
    async (req, reply) => {
      const { id, verb } = req.params;
      const actor = req.body.actor ?? "admin-api";
      if (!deps.approvals.get(id)) return reply.code(404).send({ error: `no approval request '${id}'` });
      if (verb === "approve") return deps.approve(id, req.body.forMs ?? DEFAULT_APPROVAL_MS, actor, req.ip);
      return deps.deny(id, actor, req.ip);
    },
  );

  if (deps.mintRun) {
    const mint = deps.mintRun;
    app.post<{ Body: z.infer<typeof mintRunBody> }>(
      "/identities/ephemeral",
      { schema: { body: mintRunBody } },
      async (req, reply) => {
        try {
          return reply.code(201).send(mint(req.body.parent, req.body.run, req.body.ttlMs ?? DEFAULT_RUN_TTL_MS));
        } catch (err) {
          return reply.code(400).send({ error: (err as Error).message });
        }
      },
    );
  }
  if (deps.releaseRun) {
    const release = deps.releaseRun;
    app.delete<{ Params: z.infer<typeof runTokenParams> }>(
      "/identities/ephemeral/:token",
      { schema: { params: runTokenParams } },
      async (req, reply) =>
        release(req.params.token) ? { released: true } : reply.code(404).send({ error: "no such token" }),
    );
  }
  app.get("/audit/anchors", async () => ({ anchors: deps.auditAnchors?.() ?? null }));
  if (deps.appendAudit) {
    const append = deps.appendAudit;
    app.post<{ Body: z.infer<typeof auditRecordBody> }>(
      "/audit/records",
      { schema: { body: auditRecordBody } },
      async (req, reply) => {
        const a = req.body.actor;
        // The record names who delivered it: an authenticated local process, not the actor itself.
        const who = typeof a === "string" ? { identity: a, ip: req.ip } : { identity: a.identity, ip: a.ip ?? req.ip };
        try {
          await append(req.body.kind, who, req.body.data);
        } catch (err) {
          // The log stopped (disk full, closing): the reporter falls back or warns.
          return reply.code(503).send({ error: `audit log unavailable: ${(err as Error).message}` });
        }
        return reply.code(201).send({ recorded: true });
      },
    );
  }
  app.addHook("onClose", async () => {
    for (const s of streams) s.destroy();
  });
  return app;
}

export async function listenAdmin(app: FastifyInstance, host: string, port: number): Promise<AddressInfo> {
  await app.listen({ host, port });
  return app.server.address() as AddressInfo;
}
