// The one call the gate, sandbox and ui make: an AuditSink from options (see options.ts for the
// policy mapping), with allowed decisions aggregated when asked, and its checkpoints anchored
// off the host when witnesses or anchor sinks are configured.
import { AggregatingSink } from "./aggregate.ts";
import { CheckpointAnchor } from "./anchor.ts";
import { AnchorConfigError, anchorTargets } from "./anchor-config.ts";
import { openAuditLog } from "./log.ts";
import type { AuditSinkOptions } from "./options.ts";
import type { AnchorReport, AuditSink } from "./sink.ts";
import type { Actor, AuditKind, Checkpoint, JsonObject, Receipt } from "./types.ts";

class AnchoredSink implements AuditSink {
  private readonly inner: AuditSink;
  private readonly anchor: CheckpointAnchor;
  private readonly lastSeq: () => number;

  constructor(inner: AuditSink, anchor: CheckpointAnchor, lastSeq: () => number) {
    this.inner = inner;
    this.anchor = anchor;
    this.lastSeq = lastSeq;
  }

  record(kind: AuditKind, actor: string | Actor, data: JsonObject): Promise<Receipt> {
    return this.inner.record(kind, actor, data);
  }

  anchors(): AnchorReport {
    return { lastSeq: this.lastSeq(), targets: this.anchor.status() };
  }

  async close(): Promise<void> {
    // The final checkpoint is written by the log's close and offered before the anchor stops.
    await this.inner.close();
    await this.anchor.close();
  }
}

export async function openAuditSink(options: AuditSinkOptions): Promise<AuditSink> {
  const { aggregateAllowed, witnesses, anchorSinks, ...logOptions } = options;
  const targets = anchorTargets(logOptions.dir, witnesses, anchorSinks);
  const anchor = targets.length > 0 ? new CheckpointAnchor(targets) : undefined;
  if (anchor && !logOptions.keyPath)
    throw new AnchorConfigError(
      "audit witnesses or anchor sinks are configured, but no checkpoint key: there is nothing to anchor",
      { hint: "add audit.checkpoint.key (corral audit keygen --key PATH)" },
    );
  // Retention never drops what an anchor has not acknowledged.
  const floor = () => Math.min(...(anchor?.status() ?? []).map((t) => t.anchoredSize));
  const log = await openAuditLog({
    ...logOptions,
    ...(anchor ? { onCheckpoint: (cp: Checkpoint) => anchor.offer(cp) } : {}),
    ...(logOptions.retention && anchor ? { retention: { ...logOptions.retention, maxSeq: floor } } : {}),
  });
  const sink = aggregateAllowed ? new AggregatingSink(log, { now: logOptions.now }) : log;
  if (!anchor) return sink;
  // What an earlier run signed may not have left the host yet.
  if (log.latestCheckpoint) anchor.offer(log.latestCheckpoint);
  return new AnchoredSink(sink, anchor, () => log.lastSeq);
}
