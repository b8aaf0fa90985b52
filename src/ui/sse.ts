// The dashboard's own event stream: the backlog, then live events, as server-sent events.
// The reply is hijacked (fastify steps aside), so the security headers are written here too.
// A stream ends when its session does (logout, expiry) or when the server closes.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EventHub } from "./event-hub.ts";
import type { UiEvent } from "./events.ts";
import type { Session, SessionStore } from "./sessions.ts";

const HEARTBEAT_MS = 15_000;

export interface StreamDeps {
  hub: EventHub;
  sessions: SessionStore;
  session: Session;
  headers: Record<string, string>;
  /** The server's open streams, so it can end them when it shuts down. */
  streams: Set<() => void>;
  now: () => number;
}

function frame(e: UiEvent): string {
  // JSON.stringify never emits a raw newline, so one `data:` line carries the whole event.
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function openEventStream(req: FastifyRequest, reply: FastifyReply, deps: StreamDeps): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...deps.headers,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  const last = Number(req.headers["last-event-id"]);
  let out = "retry: 2000\n\n";
  for (const e of deps.hub.recent()) if (!(last >= e.id)) out += frame(e);
  res.write(out);

  const unsubscribe = deps.hub.subscribe((e) => res.write(frame(e)));
  // Expiry is noticed lazily by the store; the heartbeat asks, so an expired session's stream ends.
  const heartbeat = setInterval(() => {
    if (!deps.sessions.get(deps.session.id, deps.now(), false)) close();
    else res.write(": ping\n\n");
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const stopOnEnd = deps.sessions.onEnd((id) => {
    if (id === deps.session.id) close();
  });
  let closed = false;
  function close() {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
    stopOnEnd();
    res.end();
  }
  res.on("close", close);
  deps.streams.add(close);
  res.on("close", () => deps.streams.delete(close));
}
