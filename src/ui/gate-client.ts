// The dashboard's only line to the gate: its admin API, through the gate's own typed client
// (src/gate/admin/client.ts, whose answers are parsed with the server's schemas). This adds what
// the dashboard needs on top: pending approvals as rows, and the `/events` stream kept open
// (reconnecting with back-off) and relayed into the EventHub. The admin token is read per request
// ($CORRAL_GATE_ADMIN_TOKEN, else <state_dir>/admin.token): the gate may create it after the UI.
import { createParser } from "eventsource-parser";
import { findAdminToken, GateAdminClient } from "../gate/index.ts";
import type { EventHub } from "./event-hub.ts";
import { parseGateEvent } from "./events.ts";

export const APPROVAL_DURATIONS = ["15m", "1h", "24h"] as const;
export type ApprovalDuration = (typeof APPROVAL_DURATIONS)[number];

export const DURATION_MS: Record<ApprovalDuration, number> = { "15m": 15 * 60_000, "1h": 3_600_000, "24h": 86_400_000 };

export interface PendingApproval {
  id: string;
  identity: string;
  destination: string;
  requested?: string;
}

/** What every gate call throws: the HTTP status, or undefined when the gate did not answer. */
export { GateAdminError as GateError } from "../gate/index.ts";

export interface GateStatus {
  url: string;
  connected: boolean;
  lastError?: string;
  since?: string;
}

export class GateClient {
  readonly baseUrl: string;
  private readonly admin: GateAdminClient;
  private status: GateStatus;
  private abort: AbortController | undefined;

  constructor(opts: { baseUrl: string; token?: string; stateDir?: string; timeoutMs?: number }) {
    const { token, stateDir } = opts;
    this.admin = new GateAdminClient({
      baseUrl: opts.baseUrl,
      // Read per request: the gate may start, and create its token file, after the dashboard.
      token: () => token ?? findAdminToken({}, stateDir),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    this.baseUrl = this.admin.baseUrl;
    this.status = { url: this.baseUrl, connected: false };
  }

  async listApprovals(): Promise<PendingApproval[]> {
    return (await this.admin.approvals())
      .filter((r) => r.status === "pending")
      .sort((a, b) => a.created - b.created)
      .map((r) => ({
        id: r.id,
        identity: r.identity,
        destination: `${r.name ?? r.ip ?? "(unknown)"}${r.port ? `:${r.port}` : ""}`,
        requested: new Date(r.created).toISOString(),
      }));
  }

  async approve(id: string, duration: ApprovalDuration, actor: string): Promise<void> {
    await this.admin.approve(id, DURATION_MS[duration], actor, duration);
  }

  async deny(id: string, actor: string): Promise<void> {
    await this.admin.deny(id, actor);
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
    const body = await this.admin.events(signal);
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
    for await (const chunk of body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  }
}
