// Human approval of denied destinations: `approval: ask` turns a denial into a pending request;
// `corral approve <id> --for 1h` turns it into a time-scoped grant that decide() honours.
// Kept in state_dir/approvals.json, written atomically (temp file + rename).
import { randomBytes } from "node:crypto";
import { type FSWatcher, mkdirSync, readFileSync, renameSync, watch, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Grant } from "./decide.ts";

export interface ApprovalRequest {
  id: string;
  identity: string;
  name?: string;
  ip?: string;
  port?: number;
  created: number;
  status: "pending" | "approved" | "denied";
  expires?: number;
  decidedBy?: string;
  decidedAt?: number;
}

const MAX_PENDING = 1000;

export class Approvals {
  private readonly file: string | undefined;
  private requests = new Map<string, ApprovalRequest>();
  private cachedGrants: Grant[] = [];
  private watcher: FSWatcher | undefined;
  /** called whenever the grants may have changed */
  onChange: (() => void) | undefined;

  constructor(stateDir?: string) {
    this.file = stateDir ? join(stateDir, "approvals.json") : undefined;
    this.load();
  }

  private load(): void {
    if (!this.file) return;
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8")) as { requests: ApprovalRequest[] };
      this.requests = new Map(data.requests.map((r) => [r.id, r]));
    } catch {}
    this.refresh();
  }

  /** Follows changes other processes make to the file (gate workers share one state_dir). */
  watch(): void {
    if (!this.file || this.watcher) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      this.watcher = watch(dirname(this.file), (_t, name) => {
        if (name === "approvals.json") this.load();
      });
      this.watcher.on("error", () => {});
    } catch {}
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Writes one changed request, re-reading first: another worker may have written since. */
  private commit(changed: ApprovalRequest): void {
    this.load();
    this.requests.set(changed.id, changed);
    this.refresh();
    if (!this.file) return;
    mkdirSync(join(this.file, ".."), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ requests: [...this.requests.values()] }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  private refresh(): void {
    this.cachedGrants = [...this.requests.values()]
      .filter((r) => r.status === "approved" && r.expires !== undefined)
      .map((r) => ({ identity: r.identity, name: r.name, ip: r.ip, port: r.port, expires: r.expires! }));
    this.onChange?.();
  }

  /** An id for this denial: the existing pending one for the same destination, or a new one. */
  request(identity: string, dest: { name?: string; ip?: string; port?: number }, now: number): string | undefined {
    for (const r of this.requests.values()) {
      if (
        r.status === "pending" &&
        r.identity === identity &&
        r.name === dest.name &&
        r.ip === (dest.name ? undefined : dest.ip) &&
        r.port === dest.port
      )
        return r.id;
    }
    const pending = [...this.requests.values()].filter((r) => r.status === "pending").length;
    if (pending >= MAX_PENDING) return undefined;
    const id = randomBytes(5).toString("hex");
    const req: ApprovalRequest = { id, identity, created: now, status: "pending" };
    if (dest.name) req.name = dest.name;
    else if (dest.ip) req.ip = dest.ip;
    if (dest.port !== undefined) req.port = dest.port;
    this.commit(req);
    return id;
  }

  approve(id: string, forMs: number, actor: string, now: number): ApprovalRequest {
    const r = this.requests.get(id);
    if (!r) throw new Error(`no approval request '${id}'`);
    r.status = "approved";
    r.expires = now + forMs;
    r.decidedBy = actor;
    r.decidedAt = now;
    this.commit(r);
    return r;
  }

  deny(id: string, actor: string, now: number): ApprovalRequest {
    const r = this.requests.get(id);
    if (!r) throw new Error(`no approval request '${id}'`);
    r.status = "denied";
    delete r.expires;
    r.decidedBy = actor;
    r.decidedAt = now;
    this.commit(r);
    return r;
  }

  get(id: string): ApprovalRequest | undefined {
    return this.requests.get(id);
  }

  list(): ApprovalRequest[] {
    return [...this.requests.values()];
  }

  grants(): Grant[] {
    return this.cachedGrants;
  }
}
