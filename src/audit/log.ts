// The writer: appends hash-chained records to segment files, signs checkpoints, recovers from a
// crash. One writer queue per log: record() assigns seq and hash synchronously (call order is
// chain order), a single pump writes them, so concurrent callers never interleave bytes.
import { type FileHandle, mkdir, open, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { sha256Hex } from "./canonical.ts";
import { DEFAULT_ORIGIN, signCheckpoint } from "./checkpoint.ts";
import { loadSigningKey, type SigningKey } from "./keys.ts";
import { leafHashesAfter } from "./leaves.ts";
import { type DirLock, lockDir } from "./lock.ts";
import { leafHash } from "./merkle.ts";
import { type PruneLimits, type PruneResult, pruneSegments } from "./prune.ts";
import { buildRecord, checkRecordLine } from "./record.ts";
import { CHECKPOINTS_FILE, listSegments, segmentName, splitLines } from "./segments.ts";
import { NoteError } from "./signed-note.ts";
import type { AuditSink } from "./sink.ts";
import { TreeError, TreeFrontier } from "./tree.ts";
import { type Actor, type AuditKind, type Checkpoint, GENESIS_HASH, type JsonObject, type Receipt } from "./types.ts";
import { AuditDirError } from "./verify.ts";

/** record: write+fdatasync per record; batch: group commit after a short timer; none: write only. */
export type FsyncMode = "record" | "batch" | "none";

export interface AuditLogOptions {
  dir: string;
  /** Ed25519 private key (outside `dir`); without it no checkpoints are written. */
  keyPath?: string;
  /** Sign a checkpoint after this many records (default 1000). */
  checkpointEvery?: number;
  /** ...or after this long with unsigned records (default 30 000 ms; 0 = never by time). */
  checkpointIntervalMs?: number;
  fsync?: FsyncMode;
  /** Group-commit window for fsync=batch (default 2 ms). */
  batchMs?: number;
  /** Rotate to the next segment past this size (default 64 MiB) or record count (default 1e6). */
  maxSegmentBytes?: number;
  maxSegmentRecords?: number;
  /** Largest accepted record line (default 1 MiB): the log is not a blob store. */
  maxRecordBytes?: number;
  /** The checkpoints' C2SP origin line (default DEFAULT_ORIGIN): the name witnesses know the log by. */
  origin?: string;
  /** Prune old segments to a signed summary after each rotation, keeping this many (audit.retention). */
  retention?: { keepSegments: number; maxSeq?: () => number };
  /** Called after each checkpoint is on disk (synced per the mode): where anchoring starts. Must not throw. */
  onCheckpoint?: (checkpoint: Checkpoint) => void;
  now?: () => Date;
}

export interface Recovery {
  segment: string;
  offset: number;
  bytes: number;
  sha256: string;
}

export interface AuditLog extends AuditSink {
  readonly dir: string;
  /** Highest seq handed out (written or queued). */
  readonly lastSeq: number;
  /** Set when open() truncated a torn final line left by a crash. */
  readonly recovery: Recovery | undefined;
  /** Resolves when everything queued so far is written (and synced, per the fsync mode). */
  flush(): Promise<void>;
  /** Signs a checkpoint over the newest written record now (no-op without a key or new records). */
  checkpoint(): Promise<Checkpoint | undefined>;
  /** The newest checkpoint on disk (from an earlier run too), if any. */
  readonly latestCheckpoint: Checkpoint | undefined;
  /** Replaces the oldest segments with a signed summary, in the writer's own queue (needs the key). */
  prune(limits: PruneLimits): Promise<PruneResult>;
}

interface Pending {
  line: Buffer;
  receipt: Receipt;
  resolve: (r: Receipt) => void;
  reject: (e: Error) => void;
}

interface Tail {
  segment: number;
  segmentBytes: number;
  segmentRecords: number;
  lastSeq: number;
  lastHash: string;
  recovery: Recovery | undefined;
}

/**
 * Reads the newest segment, finds the chain head, and truncates a torn final line — only after
 * checking that no signed checkpoint reaches past the head: a log cut inside its signed part is
 * evidence, and is left exactly as found.
 */
async function recoverTail(dir: string, durable: boolean, checkpointSeq: number): Promise<Tail> {
  const segments = listSegments(dir);
  const last = segments.at(-1);
  const tail: Tail = {
    segment: last?.index ?? 1,
    segmentBytes: 0,
    segmentRecords: 0,
    lastSeq: 0,
    lastHash: GENESIS_HASH,
    recovery: undefined,
  };
  if (!last) {
    if (checkpointSeq > 0) throw truncatedError(dir, checkpointSeq, 0);
    return tail;
  }
  const split = splitLines(await readFile(last.path));
  tail.segmentBytes = split.completeBytes;
  tail.segmentRecords = split.lines.length;
  // The head may sit in an earlier segment when the newest one was created just before a crash.
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i]!;
    const lines = i === segments.length - 1 ? split.lines : splitLines(await readFile(seg.path)).lines;
    const line = lines.at(-1);
    if (!line) continue;
    const check = checkRecordLine(line);
    if (!check.ok)
      throw new AuditDirError(
        `last record of ${join(dir, seg.name)}:${lines.length} is invalid (${check.problem}); refusing to append to a damaged log — run 'corral audit verify'`,
      );
    tail.lastSeq = check.record.seq;
    tail.lastHash = check.record.hash;
    break;
  }
  if (checkpointSeq > tail.lastSeq) throw truncatedError(dir, checkpointSeq, tail.lastSeq);
  if (split.torn) {
    tail.recovery = {
      segment: last.name,
      offset: split.completeBytes,
      bytes: split.torn.length,
      sha256: sha256Hex(split.torn),
    };
    const fh = await open(last.path, "r+");
    try {
      await fh.truncate(split.completeBytes);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
  }
  return tail;
}

function truncatedError(dir: string, checkpointSeq: number, lastSeq: number): AuditDirError {
  return new AuditDirError(
    `${join(dir, CHECKPOINTS_FILE)} signs seq ${checkpointSeq}, but the log ends at seq ${lastSeq}: records were lost or removed; refusing to append (run 'corral audit verify')`,
  );
}

/** The last checkpoint, after cutting a torn final checkpoint line. */
async function recoverCheckpoints(path: string, durable: boolean): Promise<Checkpoint | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const split = splitLines(bytes);
  if (split.torn) {
    const fh = await open(path, "r+");
    try {
      await fh.truncate(split.completeBytes);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
  }
  const line = split.lines.at(-1);
  if (!line) return undefined;
  try {
    const cp = JSON.parse(line.toString("utf8")) as Checkpoint;
    if (typeof cp?.seq === "number") return cp;
  } catch {
    // fall through
  }
  throw new AuditDirError(`last line of ${path} is not a checkpoint; run 'corral audit verify'`);
}

/** The Merkle tree through `lastSeq`: from the last checkpoint's frontier when it has one. */
async function resumeTree(dir: string, last: Checkpoint | undefined, lastSeq: number): Promise<TreeFrontier> {
  try {
    const tree = last?.frontier ? TreeFrontier.from(last.seq, last.frontier) : TreeFrontier.empty();
    for (const leaf of await leafHashesAfter(dir, tree.size, lastSeq)) tree.append(leaf);
    return tree;
  } catch (err) {
    if (err instanceof TreeError || err instanceof NoteError)
      throw new AuditDirError(
        `${join(dir, CHECKPOINTS_FILE)}: last checkpoint's frontier is unusable (${err.message}); run 'corral audit verify'`,
      );
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const dir = resolve(options.dir);
  const mode: FsyncMode = options.fsync ?? "batch";
  if (!["record", "batch", "none"].includes(mode))
    throw new AuditDirError(`fsync must be record, batch or none (got ${String(mode)})`);
  const durable = mode !== "none";
  const every = options.checkpointEvery ?? 1000;
  const intervalMs = options.checkpointIntervalMs ?? 30_000;
  const batchMs = options.batchMs ?? 2;
  const maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
  const maxSegmentRecords = options.maxSegmentRecords ?? 1_000_000;
  const maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
  const now = options.now ?? (() => new Date());
  if (!Number.isInteger(every) || every < 1) throw new AuditDirError("checkpointEvery must be a positive integer");

  await mkdir(dir, { recursive: true, mode: 0o750 });
  const key: SigningKey | undefined = options.keyPath ? loadSigningKey(options.keyPath, dir) : undefined;
  const lock: DirLock = lockDir(dir);
  let segFh: FileHandle | undefined;
  let cpFh: FileHandle | undefined;
  try {
    const cpPath = join(dir, CHECKPOINTS_FILE);
    const lastCheckpoint = await recoverCheckpoints(cpPath, durable);
    const lastCheckpointSeq = lastCheckpoint?.seq ?? 0;
    const tail = await recoverTail(dir, durable, lastCheckpointSeq);
    const tree = key ? await resumeTree(dir, lastCheckpoint, tail.lastSeq) : undefined;
    const origin = options.origin ?? DEFAULT_ORIGIN;
    if (!/^[^\s+]+$/u.test(origin))
      throw new AuditDirError(`audit origin '${origin}' has spaces or '+'`, { hint: "use e.g. corral.example/audit" });
    const created = listSegments(dir).length === 0;
    segFh = await open(join(dir, segmentName(tail.segment)), "a", 0o640);
    cpFh = key ? await open(cpPath, "a", 0o640) : undefined;
    if (created && durable) await syncDir(dir);
    const log = new Writer(dir, lock, segFh, cpFh, key, tail, lastCheckpoint, tree, {
      mode,
      every,
      intervalMs,
      batchMs,
      maxSegmentBytes,
      maxSegmentRecords,
      maxRecordBytes,
      origin,
      onCheckpoint: options.onCheckpoint,
      retention: options.retention,
      now,
    });
    if (tail.recovery)
      await log.record("audit.note", { identity: "corral" }, { event: "torn-tail-truncated", ...tail.recovery });
    return log;
  } catch (err) {
    await segFh?.close();
    await cpFh?.close();
    lock.release();
    throw err;
  }
}

interface WriterConfig {
  mode: FsyncMode;
  every: number;
  intervalMs: number;
  batchMs: number;
  maxSegmentBytes: number;
  maxSegmentRecords: number;
  maxRecordBytes: number;
  origin: string;
  onCheckpoint: ((checkpoint: Checkpoint) => void) | undefined;
  retention: AuditLogOptions["retention"];
  now: () => Date;
}

class Writer implements AuditLog {
  readonly dir: string;
  readonly recovery: Recovery | undefined;
  private readonly lock: DirLock;
  private segFh: FileHandle;
  private readonly cpFh: FileHandle | undefined;
  private readonly key: SigningKey | undefined;
  private readonly cfg: WriterConfig;
  private queue: Pending[] = [];
  private pumping: Promise<void> | undefined;
  private headSeq: number;
  private headHash: string;
  private writtenSeq: number;
  private writtenHash: string;
  private checkpointSeq: number;
  private checkpointWanted = false;
  private lastCheckpoint: Checkpoint | undefined;
  private readonly tree: TreeFrontier | undefined;
  private segment: number;
  private segmentBytes: number;
  private segmentRecords: number;
  private failed: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private pruneWanted: { limits: PruneLimits; resolve: (r: PruneResult) => void; reject: (e: Error) => void }[] = [];
  private rotated = false;

  constructor(
    dir: string,
    lock: DirLock,
    segFh: FileHandle,
    cpFh: FileHandle | undefined,
    key: SigningKey | undefined,
    tail: Tail,
    lastCheckpoint: Checkpoint | undefined,
    tree: TreeFrontier | undefined,
    cfg: WriterConfig,
  ) {
    this.dir = dir;
    this.lock = lock;
    this.segFh = segFh;
    this.cpFh = cpFh;
    this.key = key;
    this.cfg = cfg;
    this.recovery = tail.recovery;
    this.headSeq = this.writtenSeq = tail.lastSeq;
    this.headHash = this.writtenHash = tail.lastHash;
    this.checkpointSeq = lastCheckpoint?.seq ?? 0;
    this.lastCheckpoint = lastCheckpoint;
    this.tree = tree;
    this.segment = tail.segment;
    this.segmentBytes = tail.segmentBytes;
    this.segmentRecords = tail.segmentRecords;
    if (key && cfg.intervalMs > 0) {
      this.timer = setInterval(() => {
        if (this.writtenSeq > this.checkpointSeq || this.queue.length > 0) {
          this.checkpointWanted = true;
          this.kick();
        }
      }, cfg.intervalMs);
      this.timer.unref();
    }
  }

  get lastSeq(): number {
    return this.headSeq;
  }

  get latestCheckpoint(): Checkpoint | undefined {
    return this.lastCheckpoint;
  }

  record(kind: AuditKind, actor: string | Actor, data: JsonObject): Promise<Receipt> {
    if (this.closing) return Promise.reject(new AuditDirError(`audit log ${this.dir} is closed`));
    if (this.failed) return Promise.reject(this.failed);
    let built: ReturnType<typeof buildRecord>;
    try {
      built = buildRecord(this.headSeq + 1, this.cfg.now().toISOString(), kind, actor, data, this.headHash);
    } catch (err) {
      return Promise.reject(err);
    }
    const line = Buffer.from(built.line, "utf8");
    if (line.length > this.cfg.maxRecordBytes)
      return Promise.reject(
        new AuditDirError(`audit record of ${line.length} bytes exceeds the ${this.cfg.maxRecordBytes}-byte limit`),
      );
    this.headSeq = built.record.seq;
    this.headHash = built.record.hash;
    const receipt = { seq: built.record.seq, hash: built.record.hash };
    return new Promise<Receipt>((resolve, reject) => {
      this.queue.push({ line, receipt, resolve, reject });
      this.kick();
    });
  }

  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  async checkpoint(): Promise<Checkpoint | undefined> {
    if (!this.key) return undefined;
    // Through the pump, so checkpoint lines are never written by two paths at once.
    this.checkpointWanted = true;
    this.kick();
    await this.flush();
    if (this.failed) throw this.failed;
    return this.lastCheckpoint;
  }

  prune(limits: PruneLimits): Promise<PruneResult> {
    if (!this.key) return Promise.reject(new AuditDirError("pruning needs the checkpoint key: the summary is signed"));
    if (this.closing) return Promise.reject(new AuditDirError(`audit log ${this.dir} is closed`));
    return new Promise((resolve, reject) => {
      this.pruneWanted.push({ limits, resolve, reject });
      this.checkpointWanted = true;
      this.kick();
    });
  }

  /** In the pump, between batches: nothing else touches the directory meanwhile. */
  private async runPrunes(): Promise<void> {
    const auto = this.rotated && this.cfg.retention && this.key;
    this.rotated = false;
    if (auto) {
      const r = this.cfg.retention!;
      this.pruneWanted.push({
        limits: { keepSegments: r.keepSegments, ...(r.maxSeq ? { maxSeq: r.maxSeq() } : {}), now: this.cfg.now },
        resolve: () => {},
        reject: () => {},
      });
    }
    for (const want of this.pruneWanted.splice(0)) {
      try {
        const result = await pruneSegments(this.dir, this.key!, { now: this.cfg.now, ...want.limits });
        if (result.pruned.length > 0) this.queueNote(result);
        want.resolve(result);
      } catch (err) {
        want.reject(err as Error);
      }
    }
  }

  /** The prune's own record, chained like any other (written by the next round). */
  private queueNote(result: PruneResult): void {
    void this.record(
      "audit.note",
      { identity: "corral" },
      {
        event: "segments-pruned",
        segments: result.pruned.map((p) => p.name),
        first_seq: result.firstSeq,
        summary_sha256: result.summarySha256 ?? "",
      },
    ).catch(() => {});
  }

  async close(): Promise<void> {
    if (!this.closing)
      this.closing = (async () => {
        if (this.timer) clearInterval(this.timer);
        await this.flush();
        // A clean shutdown leaves no unverified tail.
        if (!this.failed && this.key && this.writtenSeq > this.checkpointSeq) await this.writeCheckpoint();
        await this.segFh.close();
        await this.cpFh?.close();
        this.lock.release();
      })();
    return this.closing;
  }

  private kick(): void {
    if (!this.pumping)
      this.pumping = this.pump().finally(() => {
        this.pumping = undefined;
        // Entries queued while the last round was finishing.
        if (this.queue.length > 0 || this.checkpointWanted) this.kick();
      });
  }

  private async pump(): Promise<void> {
    // Let concurrent callers join this round: a timer for group commit, a tick otherwise.
    if (this.cfg.mode === "batch") await new Promise((r) => setTimeout(r, this.cfg.batchMs));
    else if (this.cfg.mode === "none") await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0 || this.checkpointWanted || this.pruneWanted.length > 0) {
      if (this.queue.length > 0) {
        const take = this.cfg.mode === "record" ? this.queue.splice(0, 1) : this.queue.splice(0, 4096);
        try {
          if (this.failed) throw this.failed;
          await this.writeBatch(take);
        } catch (err) {
          this.failed ??= new AuditDirError(`audit log ${this.dir} failed and stopped: ${(err as Error).message}`);
          for (const p of take) p.reject(this.failed);
          for (const p of this.queue.splice(0)) p.reject(this.failed);
          for (const w of this.pruneWanted.splice(0)) w.reject(this.failed);
          this.checkpointWanted = false;
          return;
        }
        if (this.tree) for (const p of take) this.tree.append(leafHash(p.line.subarray(0, p.line.length - 1)));
        const last = take.at(-1)!;
        this.writtenSeq = last.receipt.seq;
        this.writtenHash = last.receipt.hash;
        for (const p of take) p.resolve(p.receipt);
        if (this.key && this.writtenSeq - this.checkpointSeq >= this.cfg.every) this.checkpointWanted = true;
      }
      if (this.checkpointWanted) {
        this.checkpointWanted = false;
        if (this.key && this.writtenSeq > this.checkpointSeq && !this.failed) {
          try {
            await this.writeCheckpoint();
          } catch (err) {
            this.failed ??= new AuditDirError(`audit checkpoint failed: ${(err as Error).message}`);
          }
        }
      }
      // After the checkpoint, so what a prune may cover is signed.
      if (this.failed) for (const w of this.pruneWanted.splice(0)) w.reject(this.failed);
      else if ((this.rotated && this.cfg.retention) || this.pruneWanted.length > 0) await this.runPrunes();
    }
  }

  /** Writes entries (rotating segments as needed); synced per the fsync mode before returning. */
  private async writeBatch(entries: Pending[]): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const writeChunk = async () => {
      if (chunk.length === 0) return;
      const buf = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, chunkBytes);
      await this.writeAll(this.segFh, buf);
      chunk = [];
      chunkBytes = 0;
    };
    for (const e of entries) {
      const full =
        this.segmentRecords > 0 &&
        (this.segmentBytes + e.line.length > this.cfg.maxSegmentBytes ||
          this.segmentRecords >= this.cfg.maxSegmentRecords);
      if (full) {
        await writeChunk();
        await this.rotate();
      }
      chunk.push(e.line);
      chunkBytes += e.line.length;
      this.segmentBytes += e.line.length;
      this.segmentRecords++;
    }
    await writeChunk();
    if (this.cfg.mode !== "none") await this.segFh.datasync();
  }

  private async writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
  }

  private async rotate(): Promise<void> {
    if (this.cfg.mode !== "none") await this.segFh.datasync();
    await this.segFh.close();
    this.segment++;
    this.segFh = await open(join(this.dir, segmentName(this.segment)), "a", 0o640);
    this.segmentBytes = 0;
    this.segmentRecords = 0;
    if (this.cfg.mode !== "none") await syncDir(this.dir);
    if (this.cfg.retention) {
      this.rotated = true;
      this.checkpointWanted = true;
    }
  }

  /** Only called with nothing in flight: the signed head is on disk (synced per the mode). */
  private async writeCheckpoint(): Promise<Checkpoint> {
    const key = this.key!;
    const { checkpoint, line } = signCheckpoint(
      this.writtenSeq,
      this.writtenHash,
      this.cfg.now().toISOString(),
      key.privateKey,
      key.publicKey,
      { origin: this.cfg.origin, frontier: this.tree! },
    );
    await this.writeAll(this.cpFh!, Buffer.from(line, "utf8"));
    if (this.cfg.mode !== "none") await this.cpFh!.datasync();
    this.checkpointSeq = checkpoint.seq;
    this.lastCheckpoint = checkpoint;
    try {
      this.cfg.onCheckpoint?.(checkpoint);
    } catch {
      // Anchoring is best effort by contract; it never stops the log.
    }
    return checkpoint;
  }
}
