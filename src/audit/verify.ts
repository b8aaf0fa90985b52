// Shell around ChainVerifier: reads a log directory segment by segment.
import type { KeyObject } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../policy/user-error.ts";
import { CHECKPOINTS_FILE, listSegments } from "./segments.ts";
import { SUMMARY_FILE } from "./summary.ts";
import { ChainVerifier, type VerifyReport } from "./verify-core.ts";

export class AuditDirError extends UserError {}

export interface VerifyDirOptions {
  /** tree sizes whose Merkle roots the report should carry */
  rootsAt?: readonly number[];
  /** a missing directory is an empty log (anchors then say what it should have held) */
  allowMissing?: boolean;
}

export function verifyLogDir(dir: string, publicKey: KeyObject, opts: VerifyDirOptions = {}): VerifyReport {
  const missing = !existsSync(dir) || !statSync(dir).isDirectory();
  if (missing && !opts.allowMissing) throw new AuditDirError(`audit log directory ${dir} not found`);
  const cpPath = join(dir, CHECKPOINTS_FILE);
  const summaryPath = join(dir, SUMMARY_FILE);
  const verifier = new ChainVerifier(
    existsSync(cpPath) ? readFileSync(cpPath) : undefined,
    publicKey,
    opts.rootsAt,
    existsSync(summaryPath) ? readFileSync(summaryPath) : undefined,
  );
  if (missing) {
    const report = verifier.finish();
    report.notes.unshift(`audit log directory ${dir} does not exist`);
    return report;
  }
  const segments = listSegments(dir);
  for (const [i, s] of segments.entries())
    if (!verifier.addSegment(s.index, readFileSync(s.path), i === segments.length - 1)) break;
  return verifier.finish();
}
