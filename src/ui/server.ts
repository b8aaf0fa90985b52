// `corral ui`'s HTTP server: a fastify app serving the dashboard's static files and a small
// JSON + server-sent-events API. Everything it knows about the world is injected: the graph
// input, the gate's admin client, the audit sink and state, the sandbox-run history.
import { parseCookie, stringifySetCookie } from "cookie";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { APPROVAL_ID } from "../gate/index.ts";
import { EventHub } from "./event-hub.ts";
import { APPROVAL_DURATIONS, type GateClient, GateError } from "./gate-client.ts";
import { type GraphInput, layoutGraph } from "./graph.ts";
import { securityHeaders } from "./headers.ts";
import { type LockoutOptions, LoginGuard } from "./lockout.ts";
import { verifyPassword } from "./password.ts";
import { readPasswordRecord } from "./password-store.ts";
import { type Session, type SessionOptions, SessionStore, sameToken } from "./sessions.ts";
import { openEventStream } from "./sse.ts";
import { loadAssets } from "./static.ts";
import type {
  AuditStateFn,
  JsonObject,
  ObservedFn,
  SandboxRunsFn,
  SealStateFn,
  UiActor,
  UiAuditSink,
} from "./types.ts";

export interface UiServerOptions {
  /** Holds admin.json (the password hash). */
  stateDir: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  graph?: () => Promise<GraphInput> | GraphInput;
  gate?: GateClient;
  /** Where live events come from; the gate client relays into it. One is created when absent. */
  hub?: EventHub;
  audit?: UiAuditSink;
  auditState?: AuditStateFn;
  /** the policy's sealed volumes and whether each is unlocked */
  sealState?: SealStateFn;
  sandboxRuns?: SandboxRunsFn;
  /** what observe and learn mode saw, and the suggested change (corral policy suggest's) */
  observed?: ObservedFn;
  lockout?: Partial<LockoutOptions>;
  sessions?: Partial<SessionOptions>;
  /**
   * Host names (besides IP literals and `localhost`) the dashboard answers to. Anything else is
   * refused, so a DNS-rebinding page cannot talk to the dashboard as its own origin.
   */
  hostnames?: string[];
  now?: () => number;
  /** Receives operational errors (audit sink failures, gate errors). */
  log?: (message: string) => void;
}

export interface UiServer {
  app: FastifyInstance;
  hub: EventHub;
  sessions: SessionStore;
  /** Starts listening; resolves to the URL. */
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

export const ADMIN = "admin";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const loginBody = z.strictObject({ password: z.string().max(1024) });
const approveBody = z.strictObject({ for: z.enum(APPROVAL_DURATIONS) });

export async function createUiServer(opts: UiServerOptions): Promise<UiServer> {
  const tls = opts.tls !== undefined;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((m: string) => process.stderr.write(`corral ui: ${m}\n`));
  const hub = opts.hub ?? new EventHub();
  const sessions = new SessionStore(opts.sessions);
  const guard = new LoginGuard(opts.lockout);
  const assets = loadAssets();
  const headers = securityHeaders(tls);
  const cookieName = tls ? "__Host-corral_session" : "corral_session";
  const sessionOf = new WeakMap<FastifyRequest, Session>();
  const streams = new Set<() => void>();

  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  // Only JSON bodies: a cross-site <form> can send text/plain or urlencoded, never JSON.
  app.removeContentTypeParser(["text/plain"]);

  const actor = (req: FastifyRequest): UiActor => ({ identity: `ui:${ADMIN}`, ip: req.ip });

  async function audit(kind: "login" | "approval", who: UiActor, data: JsonObject): Promise<boolean> {
    if (!opts.audit) return true;
    try {
      await opts.audit.record(kind, who, data);
      return true;
    } catch (err) {
      log(`audit sink failed to record ${kind}: ${(err as Error).message}`);
      return false;
    }
  }

  function setCookie(reply: FastifyReply, value: string, maxAge: number): void {
    reply.header(
      "set-cookie",
      stringifySetCookie({
        name: cookieName,
        value,
        httpOnly: true,
        secure: tls,
        sameSite: "strict",
        path: "/",
        maxAge,
      }),
    );
  }

  function currentSession(req: FastifyRequest): Session | undefined {
    const raw = req.headers.cookie;
    const id = raw ? parseCookie(raw)[cookieName] : undefined;
    return sessions.get(id, now());
  }

  function expectedOrigin(req: FastifyRequest): string | undefined {
    const host = req.headers.host;
    return host ? `${tls ? "https" : "http"}://${host}` : undefined;
  }

  const hostnames = new Set(["localhost", ...(opts.hostnames ?? []).map((h) => h.toLowerCase())]);
  function knownHost(header: string | undefined): boolean {
    if (!header) return false;
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d+)?$/.exec(header);
    const name = (m?.[1] ?? m?.[2] ?? "").toLowerCase();
    return hostnames.has(name) || ipaddr.IPv4.isValidFourPartDecimal(name) || ipaddr.IPv6.isValid(name);
  }

  app.addHook("onRequest", async (req, reply) => {
    reply.headers(headers);
    if (req.url.startsWith("/api/")) reply.header("cache-control", "no-store");
    if (!knownHost(req.headers.host)) {
      return reply.code(421).send({
        error: `unexpected Host '${req.headers.host ?? ""}': start 'corral ui' with --hostname to serve under that name`,
      });
    }
    if (STATE_CHANGING.has(req.method)) {
      // Browsers send Origin on every cross-origin POST; a mismatch is a forged request.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== expectedOrigin(req)) {
        return reply.code(403).send({ error: "cross-origin request refused" });
      }
    }
  });

  /** preHandler for routes that need a logged-in session; state-changing ones also need the CSRF token. */
  async function requireSession(req: FastifyRequest, reply: FastifyReply) {
    const session = currentSession(req);
    if (!session) return reply.code(401).send({ error: "not logged in" });
    if (STATE_CHANGING.has(req.method) && !sameToken(req.headers["x-csrf-token"] as string | undefined, session.csrf)) {
      return reply.code(403).send({ error: "missing or wrong CSRF token" });
    }
    sessionOf.set(req, session);
  }

  // --- pages and assets ---------------------------------------------------------------------
  const page = (name: string) => (_req: FastifyRequest, reply: FastifyReply) => {
    const asset = assets.get(name)!;
    return reply.type(asset.type).header("cache-control", "no-store").send(asset.body);
  };
  app.get("/", async (req, reply) => {
    if (!currentSession(req)) return reply.redirect("/login", 302);
    return page("index.html")(req, reply);
  });
  app.get("/login", page("login.html"));
  app.get<{ Params: { file: string } }>("/static/:file", async (req, reply) => {
    const asset = req.params.file.endsWith(".html") ? undefined : assets.get(req.params.file);
    if (!asset) return reply.code(404).send({ error: "not found" });
    return reply.type(asset.type).header("cache-control", "no-cache").send(asset.body);
  });

  // --- session ------------------------------------------------------------------------------
  app.get("/api/session", async (req) => {
    const session = currentSession(req);
    const lockedUntil = guard.lockedUntilMs(now());
    return {
      authenticated: session !== undefined,
      ...(session ? { csrf: session.csrf, user: ADMIN } : {}),
      passwordSet: readPasswordRecord(opts.stateDir) !== undefined,
      ...(lockedUntil ? { lockedUntil: new Date(lockedUntil).toISOString() } : {}),
    };
  });

  // One password check at a time: the admit-then-verify sequence stays atomic, so parallel
  // guesses cannot all slip in before the fifth failure locks the account; it also bounds the
  // CPU scrypt can be made to burn.
  let loginQueue: Promise<unknown> = Promise.resolve();
  app.post("/api/login", async (req, reply) => {
    const body = loginBody.safeParse(req.body);
    if (!body.success) return reply.code(400).send({ error: 'expected JSON {"password": "…"}' });
    const who = actor(req);
    const run = loginQueue.then(async () => {
      const admission = guard.admit(req.ip, now());
      if (!admission.ok) {
        await audit("login", who, { user: ADMIN, ok: false, reason: admission.reason });
        const seconds = Math.ceil(admission.retryAfterMs / 1000);
        return reply
          .code(429)
          .header("retry-after", String(seconds))
          .send({
            error:
              admission.reason === "locked"
                ? `account locked after repeated wrong passwords; try again in ${seconds}s`
                : `too many attempts; try again in ${seconds}s`,
          });
      }
      const record = readPasswordRecord(opts.stateDir);
      if (!record)
        return reply.code(503).send({ error: "no admin password is set: run 'corral ui passwd' on the host" });
      if (!(await verifyPassword(body.data.password, record))) {
        const f = guard.failure(now());
        await audit("login", who, {
          user: ADMIN,
          ok: false,
          reason: "wrong-password",
          failures: f.failures,
          locked: f.locked,
        });
        if (f.locked) {
          const seconds = Math.ceil((f.lockedUntil! - now()) / 1000);
          return reply
            .code(429)
            .header("retry-after", String(seconds))
            .send({ error: `wrong password; account locked for ${seconds}s` });
        }
        return reply.code(401).send({ error: "wrong password" });
      }
      guard.success();
      // A login that cannot be recorded does not happen.
      if (!(await audit("login", who, { user: ADMIN, ok: true })))
        return reply.code(503).send({ error: "audit log unavailable: login refused" });
      const old = currentSession(req);
      if (old) sessions.end(old.id);
      const session = sessions.create(req.ip, now());
      setCookie(reply, session.id, sessions.cookieMaxAgeSeconds);
      return reply.send({ ok: true, csrf: session.csrf });
    });
    loginQueue = run.catch(() => undefined);
    return run;
  });

  app.post("/api/logout", { preHandler: requireSession }, async (req, reply) => {
    sessions.end(sessionOf.get(req)!.id);
    setCookie(reply, "", 0);
    return reply.send({ ok: true });
  });

  // --- data ---------------------------------------------------------------------------------
  app.get("/api/graph", { preHandler: requireSession }, async (_req, reply) => {
    if (!opts.graph) return reply.send({ layout: null, note: "no policy and compose files given to 'corral ui'" });
    return reply.send({ layout: layoutGraph(await opts.graph()) });
  });

  app.get("/api/events", { preHandler: requireSession }, (req, reply) => {
    openEventStream(req, reply, { hub, sessions, session: sessionOf.get(req)!, headers, streams, now });
  });

  app.get("/api/alerts", { preHandler: requireSession }, async () => ({ alerts: hub.recentAlerts() }));

  app.get("/api/status", { preHandler: requireSession }, async () => ({
    gate: opts.gate ? opts.gate.getStatus() : null,
    audit: opts.audit !== undefined,
    tls,
  }));

  app.get("/api/approvals", { preHandler: requireSession }, async (_req, reply) => {
    if (!opts.gate) return reply.code(503).send({ error: "no gate configured" });
    try {
      return reply.send({ approvals: await opts.gate.listApprovals() });
    } catch (err) {
      return reply.code(502).send({ error: (err as Error).message });
    }
  });

  const decideApproval =
    (verdict: "approve" | "deny") => async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      const id = req.params.id;
      if (!APPROVAL_ID.test(id)) return reply.code(400).send({ error: "malformed approval id (1-32 hex digits)" });
      let duration: (typeof APPROVAL_DURATIONS)[number] | undefined;
      if (verdict === "approve") {
        const body = approveBody.safeParse(req.body ?? {});
        if (!body.success)
          return reply
            .code(400)
            .send({ error: `expected JSON {"for": ${APPROVAL_DURATIONS.map((d) => `"${d}"`).join(" | ")}}` });
        duration = body.data.for;
      }
      if (!opts.gate) return reply.code(503).send({ error: "no gate configured" });
      const who = actor(req);
      try {
        const by = `ui:${ADMIN}@${req.ip}`;
        if (duration) await opts.gate.approve(id, duration, by);
        else await opts.gate.deny(id, by);
      } catch (err) {
        await audit("approval", who, {
          id,
          verdict,
          ...(duration ? { for: duration } : {}),
          ok: false,
          error: (err as Error).message,
        });
        const status = err instanceof GateError && err.status === 404 ? 404 : 502;
        return reply.code(status).send({ error: (err as Error).message });
      }
      const recorded = await audit("approval", who, { id, verdict, ...(duration ? { for: duration } : {}), ok: true });
      return reply.send({ ok: true, ...(recorded ? {} : { warning: "the audit log did not record this approval" }) });
    };
  app.post<{ Params: { id: string } }>(
    "/api/approvals/:id/approve",
    { preHandler: requireSession },
    decideApproval("approve"),
  );
  app.post<{ Params: { id: string } }>(
    "/api/approvals/:id/deny",
    { preHandler: requireSession },
    decideApproval("deny"),
  );

  app.get<{ Querystring: { limit?: string } }>(
    "/api/sandbox-runs",
    { preHandler: requireSession },
    async (req, reply) => {
      if (!opts.sandboxRuns) return reply.send({ runs: null, note: "no audit log given to 'corral ui'" });
      const limit = Math.min(Math.max(Number(req.query.limit ?? 50) || 50, 1), 500);
      return reply.send({ runs: await opts.sandboxRuns(limit) });
    },
  );

  app.get("/api/observed", { preHandler: requireSession }, async (_req, reply) => {
    if (!opts.observed) return reply.send({ view: null, note: "no policy given to 'corral ui'" });
    return reply.send({ view: await opts.observed() });
  });

  app.get("/api/seal", { preHandler: requireSession }, async (_req, reply) => {
    if (!opts.sealState) return reply.send({ volumes: null, note: "the policy seals no volume" });
    return reply.send({ volumes: await opts.sealState() });
  });

  app.get("/api/audit", { preHandler: requireSession }, async (_req, reply) => {
    if (!opts.auditState) return reply.send({ state: null, note: "no audit log given to 'corral ui'" });
    return reply.send({ state: await opts.auditState() });
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: "not found" }));
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log(`internal error: ${err.stack ?? err.message}`);
    return reply.code(status).send({ error: status === 500 ? "internal error" : err.message });
  });

  if (opts.gate) opts.gate.relay(hub);

  return {
    app,
    hub,
    sessions,
    async listen(host: string, port: number) {
      await app.listen({ host, port });
      const addr = app.server.address();
      const p = typeof addr === "object" && addr ? addr.port : port;
      return `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${p}`;
    },
    async close() {
      opts.gate?.stop();
      for (const close of [...streams]) close();
      await app.close();
    },
  };
}
