// `corral enforce`: keeps the host rules true to what is running. The ruleset's address sets are
// rendered from the project's live containers (replicas, recreated containers, new addresses after
// `down && up` or a dockerd restart) and reloaded when they change, when the table was deleted or
// edited, and on a steady tick. An address the rules do not name is dropped on Corral's bridges,
// so a container the follower has not seen yet is cut off, never let through: the follower adds
// latency, not holes. When the engine cannot be asked, the last ruleset stays; if there is none,
// the sealed one (no member addresses: nothing crosses Corral's bridges but the gate's egress).

import type { Attachment } from "../compile/index.ts";
import { applyRuleset, corralTableDigest } from "../compile/index.ts";
import type { DockerClient, EngineEvent } from "./docker-api.ts";
import { SERVICE_LABEL } from "./members.ts";

export interface EnforceReport {
  /** What prompted the reconcile: an engine event, the tick, a missing table, the start. */
  reason: string;
  /** Whether the ruleset was (re)loaded. */
  applied: boolean;
  /** Live: from the engine; sealed: the engine could not be asked and no ruleset was loaded. */
  source: "live" | "sealed" | "kept";
  containers: number;
  unknown: string[];
  ms: number;
  error?: string;
}

export interface EnforcerOptions {
  project: string;
  client: DockerClient;
  /** The running containers' attachments for the plan, and the services it does not know. */
  members(containers: Awaited<ReturnType<DockerClient["containers"]>>): {
    attachments: Attachment[];
    unknown: string[];
  };
  render(attachments: readonly Attachment[]): string;
  netns?: string;
  tickMs?: number;
  /**
   * With the engine unreachable: `keep` what is loaded (the follower), or `seal` (a one-shot load
   * of a policy, which must not leave the previous one in force).
   */
  whenUnreachable?: "keep" | "seal";
  debounceMs?: number;
  onReport?(report: EnforceReport): void;
}

const PROJECT_LABEL = "com.docker.compose.project";
// Events that change who has which address on which network.
const RELEVANT = new Set(["start", "restart", "unpause", "die", "kill", "stop", "destroy", "connect", "disconnect"]);

export function relevantEvent(e: EngineEvent, project: string): boolean {
  if (e.Type === "network") return e.Action === "connect" || e.Action === "disconnect" || e.Action === undefined;
  if (e.Type === "container") {
    const attrs = e.Actor?.Attributes ?? {};
    if (attrs[PROJECT_LABEL] !== project || !attrs[SERVICE_LABEL]) return false;
    return RELEVANT.has((e.Action ?? "").split(":")[0] ?? "");
  }
  // Unreadable lines count: a needless reconcile costs a list call.
  return e.Type === undefined;
}

export class Enforcer {
  private lastText: string | undefined;
  private lastDigest: string | undefined;
  private running: Promise<EnforceReport> | undefined;
  private again: string | undefined;

  private readonly o: EnforcerOptions;
  constructor(options: EnforcerOptions) {
    this.o = options;
  }

  /** One reconcile; concurrent calls join the one in flight and one more runs after it. */
  reconcile(reason: string): Promise<EnforceReport> {
    if (this.running) {
      this.again = reason;
      return this.running;
    }
    const go = async (r: string): Promise<EnforceReport> => {
      try {
        return await this.once(r);
      } finally {
        const next = this.again;
        this.again = undefined;
        this.running = next ? go(next) : undefined;
      }
    };
    this.running = go(reason);
    return this.running;
  }

  private async load(text: string): Promise<void> {
    await applyRuleset(text, this.o.netns ? { netns: this.o.netns } : {});
    this.lastText = text;
    this.lastDigest = await corralTableDigest(this.o.netns ? { netns: this.o.netns } : {});
  }

  private async once(reason: string): Promise<EnforceReport> {
    const started = performance.now();
    const digest = await corralTableDigest(this.o.netns ? { netns: this.o.netns } : {});
    const tampered = digest === undefined || digest !== this.lastDigest;
    let containers: Awaited<ReturnType<DockerClient["containers"]>>;
    try {
      containers = await this.o.client.containers(this.o.project);
    } catch (err) {
      const error = (err as Error).message;
      // Without the engine the addresses are unknown. A follower keeps what is loaded (put back if
      // it was deleted or edited); with nothing to put back, or asked to load this policy now, it
      // seals.
      const sealed = () => this.o.render([]);
      const base = { reason, containers: 0, unknown: [], started, error };
      if (this.o.whenUnreachable === "seal") {
        await this.load(sealed());
        return this.report({ ...base, applied: true, source: "sealed" });
      }
      if (digest === undefined || (tampered && this.lastText !== undefined)) {
        const source = this.lastText === undefined ? "sealed" : "kept";
        await this.load(this.lastText ?? sealed());
        return this.report({ ...base, applied: true, source });
      }
      return this.report({ ...base, applied: false, source: "kept" });
    }
    const { attachments, unknown } = this.o.members(containers);
    const text = this.o.render(attachments);
    const applied = tampered || text !== this.lastText;
    if (applied) await this.load(text);
    return this.report({
      reason: tampered && text === this.lastText ? `${reason}: table missing or changed` : reason,
      applied,
      source: "live",
      containers: containers.length,
      unknown,
      started,
    });
  }

  private report(r: Omit<EnforceReport, "ms"> & { started: number }): EnforceReport {
    const { started, ...rest } = r;
    const out: EnforceReport = { ...rest, ms: Math.round((performance.now() - started) * 10) / 10 };
    this.o.onReport?.(out);
    return out;
  }

  /**
   * Follows the engine until `signal` aborts: a reconcile at start, after each relevant event
   * (debounced: `compose up` starts many containers at once), on every tick, and after the event
   * stream comes back (a dockerd restart ends it; reconnects back off up to 5 s).
   */
  async run(signal: AbortSignal): Promise<void> {
    const debounceMs = this.o.debounceMs ?? 50;
    let timer: NodeJS.Timeout | undefined;
    const soon = (why: string) => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void this.reconcile(why).catch((err: Error) => this.fail(err));
      }, debounceMs);
    };
    const tick = setInterval(
      () => void this.reconcile("tick").catch((err: Error) => this.fail(err)),
      this.o.tickMs ?? 2000,
    );
    signal.addEventListener("abort", () => {
      clearInterval(tick);
      if (timer) clearTimeout(timer);
    });
    await this.reconcile("start").catch((err: Error) => this.fail(err));
    let backoff = 250;
    let first = true;
    while (!signal.aborted) {
      try {
        await this.o.client.events(
          (e) => {
            if (relevantEvent(e, this.o.project)) soon(`event ${e.Type ?? "?"} ${e.Action ?? ""}`.trim());
          },
          signal,
          () => {
            backoff = 250;
            // Whatever happened while the stream was down (or before it opened) is picked up here.
            if (!first) soon("engine reconnected");
            first = false;
          },
        );
      } catch {
        // The engine is away; the tick keeps the table in place meanwhile.
      }
      if (signal.aborted) break;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
    if (this.running) await this.running.catch(() => undefined);
  }

  private fail(err: Error): void {
    this.o.onReport?.({
      reason: "error",
      applied: false,
      source: "kept",
      containers: 0,
      unknown: [],
      ms: 0,
      error: err.message,
    });
  }
}
