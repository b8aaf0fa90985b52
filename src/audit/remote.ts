// Records from processes that are not the log's writer (corral run, corral ui): the log has
// one writer (lock), usually the gate. So: if the gate's admin API answers, append through it
// (POST /audit/records); else open the log directly (the lock is free); else warn once and
// carry on — an audit hiccup never fails the run or the login.
import { openAuditSink } from "./open.ts";
import type { AuditSinkOptions } from "./options.ts";
import type { AuditSink } from "./sink.ts";
import type { Actor, AuditKind, JsonObject } from "./types.ts";

/** What the gate accepts from other processes (src/gate/admin/schemas.ts REMOTE_AUDIT_KINDS). */
export const REPORTABLE_KINDS: readonly string[] = ["sandbox.run", "login", "approval", "seal"];

export interface ReporterOptions {
  /** the gate's admin API base URL, e.g. http://127.0.0.1:9099 */
  adminUrl?: string;
  /** the admin token, or how to find it when needed (the gate may create it after we start) */
  token?: string | (() => string | undefined);
  /** the log itself, for when no gate answers */
  direct?: AuditSinkOptions;
  warn(message: string): void;
  timeoutMs?: number;
  /** keep the log open between direct records (a short-lived `corral run`); default false, so
   * a long-lived dashboard never keeps the gate from taking the lock when it starts */
  holdDirect?: boolean;
}

export type Delivery = "gate" | "direct" | "dropped" | "skipped";

export class AuditReporter {
  private readonly opts: ReporterOptions;
  private sink: AuditSink | undefined;
  private directFailed = false;
  private warned = false;
  /** where each record went, in call order (for tests and the CLI's own report) */
  readonly deliveries: Delivery[] = [];

  constructor(opts: ReporterOptions) {
    this.opts = opts;
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.opts.warn(message);
  }

  /** Never rejects: where the record went is in `deliveries`. */
  async record(kind: AuditKind | string, actor: string | Actor, data: Record<string, unknown>): Promise<void> {
    this.deliveries.push(await this.deliver(kind, actor, data as JsonObject));
  }

  private async deliver(kind: string, actor: string | Actor, data: JsonObject): Promise<Delivery> {
    // sandbox.start and other progress kinds: the final record carries everything.
    if (!REPORTABLE_KINDS.includes(kind)) return "skipped";
    let gateProblem: string | undefined;
    if (this.opts.adminUrl) {
      const token = typeof this.opts.token === "function" ? this.opts.token() : this.opts.token;
      try {
        const res = await fetch(`${this.opts.adminUrl.replace(/\/+$/, "")}/audit/records`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify({ kind, actor, data }),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 3000),
          redirect: "error",
        });
        const text = await res.text();
        if (res.ok) return "gate";
        gateProblem = `the gate refused the audit record (${res.status}: ${text.trim().slice(0, 200)})`;
      } catch (err) {
        gateProblem = `the gate's admin API at ${this.opts.adminUrl} did not answer (${(err as Error).message})`;
      }
    }
    if (this.opts.direct && !this.directFailed) {
      try {
        this.sink ??= await openAuditSink(this.opts.direct);
        await this.sink.record(kind as AuditKind, actor, data);
        if (!this.opts.holdDirect) await this.close();
        return "direct";
      } catch (err) {
        this.directFailed = true;
        this.warnOnce(
          `audit record not written: ${gateProblem ? `${gateProblem}; ` : ""}the log ${this.opts.direct.dir} cannot be opened (${(err as Error).message})`,
        );
        return "dropped";
      }
    }
    this.warnOnce(`audit record not written: ${gateProblem ?? "no audit log configured"}`);
    return "dropped";
  }

  async close(): Promise<void> {
    await this.sink?.close();
    this.sink = undefined;
  }
}
