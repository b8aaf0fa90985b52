// Verifying a log: pure, fed one segment at a time so a large log is never all in memory.
// It finds the FIRST bad record (file, line, seq, what is wrong) and never calls records after
// the last signed checkpoint valid: they are counted as unverified.
import type { KeyObject } from "node:crypto";
import { sha256Hex } from "./canonical.ts";
import { checkCheckpointLine, keyId, treeHeadOf } from "./checkpoint.ts";
import { leafHash } from "./merkle.ts";
import { checkRecordLine } from "./record.ts";
import { CHECKPOINTS_FILE, segmentName, splitLines } from "./segments.ts";
import { checkSummary, SUMMARY_FILE, type Summary } from "./summary.ts";
import { TreeFrontier } from "./tree.ts";
import { type Checkpoint, GENESIS_HASH } from "./types.ts";

export interface VerifyProblem {
  /** File name inside the log directory. */
  file: string;
  /** 1-based line in that file (0 when the file itself is missing). */
  line: number;
  /**
   * The first seq whose integrity is broken: the seq expected at that position, or, when a seq
   * appears a second time, that seq. For checkpoint problems: the checkpoint's seq (0 when the
   * line is too broken to tell).
   */
  seq: number;
  message: string;
}

export interface VerifyReport {
  status: "valid" | "tampered";
  /** Records that passed the chain checks (up to the first problem). */
  records: number;
  lastSeq: number;
  lastHash: string;
  segments: number;
  /** Signed checkpoints that verified. */
  checkpoints: number;
  lastCheckpoint: Checkpoint | undefined;
  /** Records after the last valid checkpoint: consistent, but nothing signed vouches for them. */
  unverified: number;
  problem: VerifyProblem | undefined;
  notes: string[];
  /** Merkle roots (base64) at the sizes asked for with `rootsAt`, where the records reached them. */
  roots: Record<number, string>;
  /** the first seq kept when older segments were pruned under a signed summary */
  prunedBefore?: number;
}

export class ChainVerifier {
  private readonly checkpoints = new Map<number, Checkpoint>();
  private checkpointProblem: VerifyProblem | undefined;
  private chainProblem: VerifyProblem | undefined;
  private lastCheckpoint: Checkpoint | undefined;
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private expectedIndex = 1;
  private segmentCount = 0;
  private lastFile = segmentName(1);
  private lastFileLines = 0;
  private finished = false;
  private readonly notes: string[] = [];
  private tree = TreeFrontier.empty();
  private summary: Summary | undefined;
  private readonly rootsWanted: Set<number>;
  private readonly roots: Record<number, string> = {};

  /**
   * Call first, with the bytes of checkpoints.jsonl (undefined when the file is absent).
   * `rootsAt`: tree sizes whose Merkle root the report should carry (a witness's cosigned sizes).
   */
  constructor(
    checkpointBytes: Buffer | undefined,
    publicKey: KeyObject,
    rootsAt: readonly number[] = [],
    summaryBytes?: Buffer,
  ) {
    this.rootsWanted = new Set(rootsAt);
    if (summaryBytes) this.startFromSummary(summaryBytes, publicKey);
    if (!checkpointBytes) {
      this.notes.push("no checkpoints.jsonl: nothing is signed, every record is unverified");
      return;
    }
    const expectedKey = keyId(publicKey);
    const { lines, torn } = splitLines(checkpointBytes);
    let lastSeq = 0;
    lines.forEach((bytes, i) => {
      if (this.checkpointProblem) return;
      const check = checkCheckpointLine(bytes, publicKey, expectedKey);
      if (!check.ok) {
        this.checkpointProblem = {
          file: CHECKPOINTS_FILE,
          line: i + 1,
          seq: check.seq ?? Number.MAX_SAFE_INTEGER,
          message: check.problem,
        };
        return;
      }
      const cp = check.checkpoint;
      if (cp.seq <= lastSeq) {
        this.checkpointProblem = {
          file: CHECKPOINTS_FILE,
          line: i + 1,
          seq: cp.seq,
          message: `checkpoint seq ${cp.seq} does not follow ${lastSeq} (checkpoints reordered or duplicated)`,
        };
        return;
      }
      lastSeq = cp.seq;
      this.checkpoints.set(cp.seq, cp);
      // Inside a pruned part the signed checkpoint is what is left of the tree at that size.
      if (this.summary && cp.seq < this.summary.first_seq && cp.note && this.rootsWanted.has(cp.seq))
        this.roots[cp.seq] = treeHeadOf(cp)!.root.toString("base64");
      this.lastCheckpoint = cp;
    });
    // A checkpoint write cut short by a crash: it vouches for nothing, and the one before stands.
    if (torn) this.notes.push(`torn final line in ${CHECKPOINTS_FILE} (${torn.length} bytes) ignored`);
  }

  /** Pruned segments: the remaining log starts where the signed summary says. */
  private startFromSummary(bytes: Buffer, publicKey: KeyObject): void {
    const check = checkSummary(bytes, publicKey);
    if (!check.ok) {
      this.chainProblem = { file: SUMMARY_FILE, line: 1, seq: 1, message: check.problem };
      return;
    }
    const s = check.summary;
    this.summary = s;
    this.expectedSeq = s.first_seq;
    this.prevHash = s.prev;
    this.expectedIndex = Math.max(0, ...s.pruned.map((p) => p.index)) + 1;
    try {
      this.tree = TreeFrontier.from(s.first_seq - 1, s.frontier);
    } catch (err) {
      this.chainProblem = { file: SUMMARY_FILE, line: 1, seq: s.first_seq, message: (err as Error).message };
      return;
    }
    if (this.rootsWanted.has(s.first_seq - 1)) this.roots[s.first_seq - 1] = this.tree.root().toString("base64");
    this.notes.push(
      `records 1..${s.first_seq - 1} (${s.pruned.length} segments) were pruned at ${s.time} under a signed summary`,
    );
  }

  /** Once checkpoints are read: the one at the summary's edge must agree with it. */
  private checkSummaryEdge(): void {
    const s = this.summary;
    const cp = s && this.checkpoints.get(s.first_seq - 1);
    if (!s || !cp || this.chainProblem) return;
    const problem =
      cp.hash !== s.prev
        ? "the summary's edge hash differs from the checkpoint there"
        : cp.note
          ? this.treeProblem(cp)
          : undefined;
    if (problem) this.chainProblem = { file: SUMMARY_FILE, line: 1, seq: s.first_seq - 1, message: problem };
  }

  /** A checkpoint's tree head and frontier against the tree of the records themselves. */
  private treeProblem(cp: Checkpoint): string | undefined {
    const head = treeHeadOf(cp)!;
    if (!head.root.equals(this.tree.root()))
      return `checkpoint at seq ${cp.seq} signs a Merkle root the records do not have`;
    if (JSON.stringify(cp.frontier) !== JSON.stringify(this.tree.toJSON()))
      return `checkpoint at seq ${cp.seq} carries a tree frontier the records do not have (bytes altered)`;
    return undefined;
  }

  private checkpointLine(seq: number): number {
    return [...this.checkpoints.keys()].indexOf(seq) + 1;
  }

  private get coveredSeq(): number {
    return this.lastCheckpoint?.seq ?? 0;
  }

  private fail(file: string, line: number, message: string): false {
    this.chainProblem = { file, line, seq: this.expectedSeq, message };
    return false;
  }

  /**
   * Feeds segments in index order; `isLast` marks the newest one (where a torn line may sit).
   * Returns false once a problem is found (later segments need not be read).
   */
  addSegment(index: number, bytes: Buffer, isLast: boolean): boolean {
    if (this.segmentCount === 0 && this.expectedSeq === (this.summary?.first_seq ?? 1)) this.checkSummaryEdge();
    if (this.chainProblem) return false;
    const name = segmentName(index);
    const pruned =
      this.summary && index < this.expectedIndex ? this.summary.pruned.find((p) => p.index === index) : undefined;
    if (this.summary && index < this.expectedIndex) {
      // A prune interrupted between writing the summary and deleting: the bytes must be the pruned ones.
      if (pruned?.sha256 === sha256Hex(bytes)) {
        this.notes.push(`${name} is pruned by the summary but still present (an interrupted prune); its bytes match`);
        return true;
      }
      return this.fail(name, 0, `${name} is pruned by the summary, but its bytes are not the pruned ones`);
    }
    if (index !== this.expectedIndex) {
      const missing = segmentName(this.expectedIndex);
      return this.fail(missing, 0, `${missing} is missing (segment deleted): found ${name} next`);
    }
    this.expectedIndex++;
    this.segmentCount++;
    this.lastFile = name;
    const { lines, torn } = splitLines(bytes);
    this.lastFileLines = lines.length;
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const check = checkRecordLine(lines[i]!);
      if (!check.ok) return this.fail(name, lineNo, check.problem);
      const r = check.record;
      if (r.seq > this.expectedSeq)
        return this.fail(
          name,
          lineNo,
          `expected seq ${this.expectedSeq}, found ${r.seq}: record(s) missing (deleted or reordered)`,
        );
      if (r.seq < this.expectedSeq) {
        // The broken seq is the one that now appears twice (an inserted copy or forgery).
        this.fail(
          name,
          lineNo,
          `expected seq ${this.expectedSeq}, found ${r.seq} again: record duplicated, inserted or reordered`,
        );
        this.chainProblem!.seq = r.seq;
        return false;
      }
      if (r.prev !== this.prevHash)
        return this.fail(
          name,
          lineNo,
          this.expectedSeq === 1
            ? "first record's prev is not the genesis hash (records before it removed)"
            : `prev does not match the hash of seq ${this.expectedSeq - 1} (record inserted or replaced)`,
        );
      const cp = this.checkpoints.get(r.seq);
      if (cp && cp.hash !== r.hash)
        return this.fail(
          name,
          lineNo,
          `record differs from the signed checkpoint at seq ${cp.seq}: the chain was rewritten at or before this record`,
        );
      this.tree.append(leafHash(lines[i]!));
      if (this.rootsWanted.has(r.seq)) this.roots[r.seq] = this.tree.root().toString("base64");
      if (cp?.note) {
        const problem = this.treeProblem(cp);
        if (problem) {
          this.checkpointProblem ??= {
            file: CHECKPOINTS_FILE,
            line: this.checkpointLine(cp.seq),
            seq: cp.seq,
            message: problem,
          };
          return false;
        }
      }
      this.prevHash = r.hash;
      this.expectedSeq++;
    }
    if (torn) {
      if (!isLast) return this.fail(name, lines.length + 1, "segment ends inside a record (bytes removed)");
      if (this.expectedSeq <= this.coveredSeq)
        return this.fail(name, lines.length + 1, "record cut short inside the checkpointed part (log truncated)");
      this.notes.push(
        `torn final line in ${name}:${lines.length + 1} (${torn.length} bytes): a write in flight at a crash; the writer truncates it on next open`,
      );
    }
    return true;
  }

  finish(): VerifyReport {
    if (this.finished) throw new Error("ChainVerifier.finish called twice");
    this.finished = true;
    if (this.segmentCount === 0) this.checkSummaryEdge();
    const lastSeq = this.expectedSeq - 1;
    if (!this.chainProblem && this.coveredSeq > lastSeq)
      this.chainProblem = {
        file: this.lastFile,
        line: this.lastFileLines + 1,
        seq: lastSeq + 1,
        message: `log ends at seq ${lastSeq}, but a signed checkpoint covers seq ${this.coveredSeq}: records truncated or segments deleted`,
      };
    const candidates = [this.chainProblem, this.checkpointProblem].filter((p): p is VerifyProblem => !!p);
    candidates.sort((a, b) => a.seq - b.seq);
    const problem = candidates[0];
    // A checkpoint line too broken to name its seq: 0 means "no seq".
    if (problem?.seq === Number.MAX_SAFE_INTEGER) problem.seq = 0;
    return {
      status: problem ? "tampered" : "valid",
      records: lastSeq - (this.summary ? this.summary.first_seq - 1 : 0),
      lastSeq,
      lastHash: this.prevHash,
      segments: this.segmentCount,
      checkpoints: this.checkpoints.size,
      lastCheckpoint: this.lastCheckpoint,
      unverified: Math.max(0, lastSeq - this.coveredSeq),
      problem,
      notes: this.notes,
      roots: this.roots,
      ...(this.summary ? { prunedBefore: this.summary.first_seq } : {}),
    };
  }
}
