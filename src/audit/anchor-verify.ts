// What the off-host anchors say about the local log: a witness's cosigned checkpoint or a copied
// checkpoint line names a size and a root the log had. Fewer local records than that size is a
// truncation (the lost range is exact); a different root at that size is a rewritten or forked
// history; a checkpoint the given key did not sign means the log was re-signed (or the wrong key
// was given). Records past the largest anchored size are reported as not yet anchored. Pure.
import { NoteError, type NoteKey, openNote, parseCheckpoint } from "./signed-note.ts";
import { cosignatureTime } from "./witness-core.ts";

export interface AnchorEvidence {
  /** witness URL or copy file */
  source: string;
  kind: "witness" | "copy";
  /** the signed checkpoint note it holds (undefined: it holds nothing for this log) */
  note?: string;
  /** for witnesses: its cosignature key */
  witnessKey?: NoteKey;
  /** it could not be consulted */
  error?: string;
  /** copy lines signed by another key for this origin */
  foreign?: number;
}

export interface AnchorFinding {
  source: string;
  status: "anchored" | "tampered" | "empty" | "unreachable" | "stale";
  size?: number;
  /** seqs lost (truncation) or in doubt (rewritten) */
  range?: { from: number; to: number };
  message: string;
}

export interface AnchorVerdict {
  status: "valid" | "tampered" | "unchecked";
  /** the largest size an anchor vouches for and the local log matches */
  anchoredSize: number;
  /** local records after it */
  unanchored: number;
  findings: AnchorFinding[];
}

/** The sizes whose local roots verify needs (ask the chain verifier for them). */
export function anchoredSizes(evidence: readonly AnchorEvidence[], log: NoteKey): number[] {
  const sizes = new Set<number>();
  for (const e of evidence) {
    const head = headOf(e, log);
    if (head && "size" in head) sizes.add(head.size);
  }
  return [...sizes];
}

function headOf(e: AnchorEvidence, log: NoteKey): { size: number; root: string } | { problem: string } | undefined {
  if (!e.note) return undefined;
  try {
    const opened = openNote(e.note, [log]);
    const head = parseCheckpoint(opened.text);
    if (head.origin !== log.name)
      return { problem: `it holds a checkpoint of origin '${head.origin}', not '${log.name}'` };
    if (!opened.verified.includes(log.name))
      return {
        problem: `its checkpoint of size ${head.size} is not signed by the given log key: the log was re-signed with another key, or --key is not the log's key`,
      };
    if (e.kind === "witness") {
      if (!e.witnessKey) return { problem: "no witness key to check its cosignature with" };
      if (cosignatureTime(e.note, e.witnessKey) === undefined)
        return { problem: `its checkpoint carries no cosignature by ${e.witnessKey.name}` };
    }
    return { size: head.size, root: head.root.toString("base64") };
  } catch (err) {
    if (err instanceof NoteError) return { problem: `its checkpoint does not verify (${err.message})` };
    throw err;
  }
}

/**
 * `local`: the chain verifier's result: where the records end and the roots at the anchored
 * sizes (absent where the records do not reach, or a size lies in a pruned part).
 * `prunedBefore`: records before this seq were pruned under a signed summary.
 */
export function judgeAnchors(
  evidence: readonly AnchorEvidence[],
  log: NoteKey,
  local: { lastSeq: number; roots: Record<number, string>; prunedBefore?: number },
): AnchorVerdict {
  const findings: AnchorFinding[] = [];
  let anchoredSize = 0;
  for (const e of evidence) {
    if (e.error) {
      findings.push({ source: e.source, status: "unreachable", message: e.error });
      continue;
    }
    const head = headOf(e, log);
    if (!head) {
      const foreign = e.foreign
        ? ` (${e.foreign} checkpoint lines signed by another key: the log was re-signed, or --key is wrong)`
        : "";
      findings.push({
        source: e.source,
        status: e.foreign ? "tampered" : "empty",
        message: `holds no checkpoint of ${log.name}${foreign}`,
      });
      continue;
    }
    if ("problem" in head) {
      findings.push({ source: e.source, status: "tampered", message: head.problem });
      continue;
    }
    const w = head.size;
    if (e.foreign) {
      findings.push({
        source: e.source,
        status: "tampered",
        size: w,
        message: `${e.foreign} checkpoint lines of ${log.name} there are signed by another key than the given one: the log was re-signed`,
      });
      continue;
    }
    if (local.lastSeq < w) {
      const from = local.lastSeq + 1;
      findings.push({
        source: e.source,
        status: "tampered",
        size: w,
        range: { from, to: w },
        message:
          local.lastSeq === 0
            ? `it vouches for ${w} records, the log has none: records 1..${w} lost (log deleted)`
            : `it vouches for ${w} records, the log ends at seq ${local.lastSeq}: records ${from}..${w} lost (truncated)`,
      });
      continue;
    }
    const root = local.roots[w];
    if (root === undefined && local.prunedBefore !== undefined && w < local.prunedBefore) {
      findings.push({
        source: e.source,
        status: "stale",
        size: w,
        message: `it vouches for size ${w}, inside the pruned part, and no local checkpoint has that size: it cannot vouch for what remains`,
      });
      continue;
    }
    if (root !== head.root) {
      findings.push({
        source: e.source,
        status: "tampered",
        size: w,
        range: { from: local.prunedBefore ?? 1, to: w },
        message: `the log's first ${w} records do not have the root it vouches for: records up to seq ${w} were rewritten or replaced (a forked history)`,
      });
      continue;
    }
    findings.push({ source: e.source, status: "anchored", size: w, message: `anchored through seq ${w}` });
    anchoredSize = Math.max(anchoredSize, w);
  }
  const tampered = findings.some((f) => f.status === "tampered");
  const checked = findings.some((f) => f.status === "anchored" || f.status === "empty" || f.status === "stale");
  return {
    status: tampered ? "tampered" : checked ? "valid" : "unchecked",
    anchoredSize,
    unanchored: Math.max(0, local.lastSeq - anchoredSize),
    findings,
  };
}
