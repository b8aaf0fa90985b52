// The one client of the gate's admin API, for `corral approve`, `corral run` and the dashboard:
// every answer is parsed with the same schemas the server validates with (schemas.ts).
import type { z } from "zod";
import { UserError } from "../../policy/user-error.ts";
import {
  type ApprovalRecord,
  approvalId,
  approvalRequest,
  approvalsList,
  auditAnchors,
  errorBody,
  health,
  mintedRun,
  readiness,
  released,
} from "./schemas.ts";

export class GateAdminError extends UserError {
  /** the HTTP status, or undefined when the gate did not answer at all */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

/** Refused before sending: an id that is not the gate's form could only be a mistake or an injection. */
function checkedId(id: string): string {
  const r = approvalId.safeParse(id);
  if (!r.success) throw new GateAdminError(`'${id.slice(0, 40)}': ${r.error.issues[0]?.message}`, 400);
  return r.data;
}

export interface GateAdminOptions {
  /** http://host:port (httpUrlOf in policy/host-port.ts turns a listen address into one) */
  baseUrl: string;
  /** the bearer token, or a function asked on every request (the token file may appear later) */
  token?: string | (() => string | undefined);
  timeoutMs?: number;
}

export class GateAdminClient {
  readonly baseUrl: string;
  private readonly token: () => string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: GateAdminOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    const t = opts.token;
    this.token = typeof t === "function" ? t : () => t;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  private headers(json: boolean): Record<string, string> {
    const token = this.token();
    return {
      accept: "application/json",
      ...(json ? { "content-type": "application/json" } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    };
  }

  private async call<T>(method: string, path: string, answer: z.ZodType<T>, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: this.headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
    } catch (err) {
      const e = err as Error & { cause?: { message?: string } };
      throw new GateAdminError(`gate admin API at ${this.baseUrl} unreachable: ${e.cause?.message ?? e.message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new GateAdminError(`gate answered ${method} ${path} with non-JSON (${res.status})`, res.status);
    }
    if (!res.ok) {
      const e = errorBody.safeParse(json);
      if (res.status === 401)
        throw new GateAdminError(
          "the gate wants its admin token: $CORRAL_GATE_ADMIN_TOKEN, or <gate.state_dir>/admin.token",
          401,
        );
      throw new GateAdminError(
        `gate answered ${res.status} to ${method} ${path}: ${e.success ? e.data.error : text.slice(0, 200)}`,
        res.status,
      );
    }
    const parsed = answer.safeParse(json);
    if (!parsed.success)
      throw new GateAdminError(
        `gate's answer to ${method} ${path} is not what this client expects: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  }

  health() {
    return this.call("GET", "/healthz", health);
  }

  async auditAnchors() {
    return (await this.call("GET", "/audit/anchors", auditAnchors)).anchors;
  }

  ready() {
    return this.call("GET", "/readyz", readiness);
  }

  async approvals(): Promise<ApprovalRecord[]> {
    return (await this.call("GET", "/approvals", approvalsList)).requests;
  }

  async approve(id: string, forMs: number, actor: string, label?: string): Promise<ApprovalRecord> {
    return this.call("POST", `/approvals/${checkedId(id)}/approve`, approvalRequest, {
      forMs,
      actor,
      ...(label ? { for: label } : {}),
    });
  }

  async deny(id: string, actor: string): Promise<ApprovalRecord> {
    return this.call("POST", `/approvals/${checkedId(id)}/deny`, approvalRequest, { actor });
  }

  mintRun(parent: string, run: string, ttlMs: number) {
    return this.call("POST", "/identities/ephemeral", mintedRun, { parent, run, ttlMs });
  }

  async releaseRun(token: string): Promise<void> {
    await this.call("DELETE", `/identities/ephemeral/${encodeURIComponent(token)}`, released);
  }

  /** The live `/events` stream (text/event-stream); the caller reads and closes it. */
  async events(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await fetch(`${this.baseUrl}/events`, {
      headers: { ...this.headers(false), accept: "text/event-stream" },
      signal,
      redirect: "error",
    });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new GateAdminError(`gate answered ${res.status} to GET /events`, res.status);
    }
    return res.body;
  }
}
