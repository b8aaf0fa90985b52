// Anchoring runs beside the writer and never in its way: each checkpoint is offered to every
// target, and only the newest waiting one is kept (it proves everything before it), so the
// backlog is one checkpoint per target however long a witness is away. Failures retry with
// capped, jittered backoff; a refusal is kept as the target's state for /metrics, the dashboard
// and `verify` to show.
import type { AnchorTarget } from "./anchor-targets.ts";
import { AnchorRefused } from "./anchor-targets.ts";
import type { Checkpoint } from "./types.ts";

export interface AnchorStatus {
  id: string;
  kind: AnchorTarget["kind"];
  /** the largest size this target has acknowledged (cosigned, for a witness) in this run */
  anchoredSize: number;
  /** the newest checkpoint offered and not yet acknowledged */
  pendingSize: number | undefined;
  /** checkpoints offered since the last acknowledgement (all but the newest were superseded) */
  backlog: number;
  attempts: number;
  lastError: string | undefined;
  /** true when the target refused (not merely failed to answer) */
  refused: boolean;
  lastSuccess: string | undefined;
}

export interface AnchorOptions {
  /** first retry delay (default 1 s), doubled per failure up to maxRetryMs (default 60 s) */
  retryMs?: number;
  maxRetryMs?: number;
  /** per attempt (default 5 s) */
  timeoutMs?: number;
  onDelivered?: (target: AnchorTarget, size: number, note: string | undefined) => void;
  now?: () => Date;
}

class TargetRunner {
  readonly status: AnchorStatus;
  private pending: Checkpoint | undefined;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly target: AnchorTarget;
  private readonly opts: Required<Omit<AnchorOptions, "onDelivered">> & Pick<AnchorOptions, "onDelivered">;

  constructor(target: AnchorTarget, opts: TargetRunner["opts"]) {
    this.target = target;
    this.opts = opts;
    this.status = {
      id: target.id,
      kind: target.kind,
      anchoredSize: 0,
      pendingSize: undefined,
      backlog: 0,
      attempts: 0,
      lastError: undefined,
      refused: false,
      lastSuccess: undefined,
    };
  }

  offer(cp: Checkpoint): void {
    if (this.stopping || cp.seq <= this.status.anchoredSize) return;
    this.pending = cp;
    this.status.pendingSize = cp.seq;
    this.status.backlog++;
    // A new checkpoint is worth trying at once, even during a backoff.
    this.failures = 0;
    this.wake?.();
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    // While stopping too: the final checkpoint gets its try, bounded by stop()'s grace.
    while (this.pending && !this.abort.signal.aborted) {
      const cp = this.pending;
      this.status.attempts++;
      try {
        const got = await this.target.deliver(
          cp,
          AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), this.abort.signal]),
        );
        this.status.anchoredSize = Math.max(this.status.anchoredSize, got.size);
        this.status.lastError = undefined;
        this.status.refused = false;
        this.status.lastSuccess = this.opts.now().toISOString();
        this.failures = 0;
        this.opts.onDelivered?.(this.target, got.size, got.note);
        if (this.pending === cp) {
          this.pending = undefined;
          this.status.pendingSize = undefined;
          this.status.backlog = 0;
        } else this.status.backlog = 1;
      } catch (err) {
        this.status.lastError = (err as Error).message;
        this.status.refused = err instanceof AnchorRefused;
        if (this.stopping) break;
        this.failures++;
        const base = Math.min(this.opts.maxRetryMs, this.opts.retryMs * 2 ** Math.min(this.failures - 1, 16));
        await this.sleep(base * (0.5 + Math.random() / 2));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer);
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(this.wake, ms);
      this.timer.unref();
    });
  }

  /**
   * Lets the attempt in flight (the final checkpoint, usually) finish for up to `graceMs`, then
   * gives up: a short-lived writer (`corral run`, a dashboard login) never waits on a witness
   * longer than that.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(r, graceMs);
    });
    await Promise.race([this.running, grace]);
    clearTimeout(timer);
    this.abort.abort();
  }
}

export class CheckpointAnchor {
  private readonly runners: TargetRunner[];

  constructor(targets: readonly AnchorTarget[], opts: AnchorOptions = {}) {
    const full = {
      retryMs: opts.retryMs ?? 1000,
      maxRetryMs: opts.maxRetryMs ?? 60_000,
      timeoutMs: opts.timeoutMs ?? 5000,
      onDelivered: opts.onDelivered,
      now: opts.now ?? (() => new Date()),
    };
    this.runners = targets.map((t) => new TargetRunner(t, full));
  }

  offer(cp: Checkpoint): void {
    for (const r of this.runners) r.offer(cp);
  }

  status(): AnchorStatus[] {
    return this.runners.map((r) => ({ ...r.status }));
  }

  /** Waits up to `graceMs` (default 2 s) for pushes in flight, then stops. */
  async close(graceMs = 2000): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop(graceMs)));
  }
}
