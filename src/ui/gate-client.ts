// The dashboard's only line to the gate: its admin HTTP API. Approvals are listed and decided
// with plain requests; decisions and alerts arrive on the gate's `/events` stream, which this
// client keeps open (reconnecting with back-off) and relays into the EventHub.
//
// The contract (the gate implements it):
//   GET  /events                     text/event-stream; `event: decision|alert`, data = JSON
//                                    (ECS field names, as src/gate/admin.ts sends them)
//   GET  /approvals                  {requests: [{id, identity, name?|ip?, port?, created, status}]}
//   POST /approvals/:id/approve      {"forMs": 3600000, "for": "1h", "actor": "ui:admin"} → 2xx
//   POST /approvals/:id/deny         {"actor": "ui:admin"}                              → 2xx
// The gate records approvals in its own audit log under the actor sent here. The gate's admin
// token is sent as `Authorization: Bearer …`: CORRAL_GATE_ADMIN_TOKEN, else the gate's
// <state_dir>/admin.token, read per request (the gate may start, and create it, after the UI).
import { createParser } from "eventsource-parser";
import { z } from "zod";
import { adminUrlFromListen, findAdminToken } from "../gate/index.ts";
import type { EventHub } from "./event-hub.ts";
import { parseGateEvent } from "./events.ts";

export const APPROVAL_DURATIONS = ["15m", "1h", "24h"] as const;
export type ApprovalDuration = (typeof APPROVAL_DURATIONS)[number];

export const DURATION_MS: Record<ApprovalDuration, number> = { "15m": 15 * 60_000, "1h": 3_600_000, "24h": 86_400_000 };

const gateRequestSchema = z.object({
  id: z.string().min(1).max(128),
  identity: z.string().max(256),
  name: z.string().max(512).optional(),
  ip: z.string().max(64).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  created: z.number().optional(),
  status: z.enum(["pending", "approved", "denied"]),
  expires: z.number().optional(),
});
const approvalsSchema = z.object({ requests: z.array(gateRequestSchema) });

export interface PendingApproval {
  id: string;
  identity: string;
  destination: string;
  requested?: string;
}

export class GateError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = "GateError";
    this.status = status;
  }
}

export interface GateStatus {
  url: string;
  connected: boolean;
  lastError?: string;
  since?: string;
}

/** `127.0.0.1:9099`, `[::1]:9099` or `0.0.0.0:9099` (then reached on loopback) → base URL. */
export const gateUrlFromListen = adminUrlFromListen;

export class GateClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private status: GateStatus;
  private abort: AbortController | undefined;

  private readonly stateDir: string | undefined;

  constructor(opts: { baseUrl: string; token?: string; stateDir?: string; timeoutMs?: number }) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.token = opts.token;
    this.stateDir = opts.stateDir;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.status = { url: this.baseUrl, connected: false };
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const token = this.token ?? findAdminToken({}, this.stateDir);
    return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: this.headers(
          body === undefined
            ? { accept: "application/json" }
            : { accept: "application/json", "content-type": "application/json" },
        ),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
    } catch (err) {
      throw new GateError(`gate admin API at ${this.baseUrl} unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok)
      throw new GateError(`gate answered ${res.status} to ${method} ${path}: ${text.slice(0, 200)}`, res.status);
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new GateError(`gate answered ${method} ${path} with non-JSON`);
    }
  }

  async listApprovals(): Promise<PendingApproval[]> {
    const parsed = approvalsSchema.safeParse(await this.request("GET", "/approvals"));
    if (!parsed.success)
      throw new GateError(`gate's /approvals answer is not a list of requests: ${parsed.error.issues[0]?.message}`);
    return parsed.data.requests
      .filter((r) => r.status === "pending")
      .sort((a, b) => (a.created ?? 0) - (b.created ?? 0))
      .map((r) => ({
        id: r.id,
        identity: r.identity,
        destination: `${r.name ?? r.ip ?? "(unknown)"}${r.port ? `:${r.port}` : ""}`,
        ...(r.created !== undefined ? { requested: new Date(r.created).toISOString() } : {}),
      }));
  }

  async approve(id: string, duration: ApprovalDuration, actor: string): Promise<void> {
    await this.request("POST", `/approvals/${encodeURIComponent(id)}/approve`, {
      for: duration,
      forMs: DURATION_MS[duration],
      actor,
    });
  }

  async deny(id: string, actor: string): Promise<void> {
    await this.request("POST", `/approvals/${encodeURIComponent(id)}/deny`, { actor });
  }

  getStatus(): GateStatus {
    return { ...this.status };
  }

  /** Keeps `/events` open until stop(), publishing each well-formed event into the hub. */
  relay(hub: EventHub): void {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    void (async () => {
      let delay = 500;
      while (!abort.signal.aborted) {
        try {
          await this.stream(hub, abort.signal, () => {
            delay = 500;
          });
          this.status = {
            url: this.baseUrl,
            connected: false,
            lastError: "stream ended",
            since: new Date().toISOString(),
          };
        } catch (err) {
          if (abort.signal.aborted) break;
          this.status = {
            url: this.baseUrl,
            connected: false,
            lastError: (err as Error).message,
            since: new Date().toISOString(),
          };
        }
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 15_000);
      }
    })();
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
  }

  private async stream(hub: EventHub, signal: AbortSignal, onOpen: () => void): Promise<void> {
    const res = await fetch(`${this.baseUrl}/events`, {
      headers: this.headers({ accept: "text/event-stream" }),
      signal,
      redirect: "error",
    });
    if (!res.ok || !res.body) throw new Error(`gate answered ${res.status} to GET /events`);
    this.status = { url: this.baseUrl, connected: true, since: new Date().toISOString() };
    onOpen();
    const parser = createParser({
      maxBufferSize: 1024 * 1024,
      onEvent: (msg) => {
        const event = parseGateEvent(msg.event, msg.data, new Date());
        if (event) hub.publish(event);
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  }
}
