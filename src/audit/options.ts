// The policy's `audit:` section → writer options. Declared structurally here so the audit
// module does not depend on src/policy at compile time; the lead's schema must stay assignable.
import { isAbsolute, resolve } from "node:path";
import type { AnchorSinkConfig, WitnessConfig } from "./anchor-config.ts";
import type { AuditLogOptions, FsyncMode } from "./log.ts";
import { parseDuration, QueryError } from "./query.ts";

export interface AuditPolicySection {
  path: string;
  checkpoint?: { every?: number; interval?: string | number; key: string };
  fsync?: FsyncMode;
  aggregate_allowed?: boolean;
  origin?: string;
  witnesses?: WitnessConfig[];
  anchor_sinks?: AnchorSinkConfig[];
  retention?: { keep_segments: number };
}

export interface AuditSinkOptions extends AuditLogOptions {
  aggregateAllowed?: boolean;
  witnesses?: WitnessConfig[];
  anchorSinks?: AnchorSinkConfig[];
}

/** Relative paths in the policy are relative to the policy file's directory. */
export function auditOptionsFromPolicy(section: AuditPolicySection, policyDir: string): AuditSinkOptions {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(policyDir, p));
  const opts: AuditSinkOptions = { dir: abs(section.path) };
  if (section.fsync) opts.fsync = section.fsync;
  if (section.aggregate_allowed !== undefined) opts.aggregateAllowed = section.aggregate_allowed;
  if (section.origin) opts.origin = section.origin;
  if (section.witnesses?.length) opts.witnesses = section.witnesses.map((w) => ({ url: w.url, key: abs(w.key) }));
  if (section.anchor_sinks?.length) opts.anchorSinks = section.anchor_sinks;
  if (section.retention) opts.retention = { keepSegments: section.retention.keep_segments };
  const cp = section.checkpoint;
  if (cp) {
    opts.keyPath = abs(cp.key);
    if (cp.every !== undefined) opts.checkpointEvery = cp.every;
    if (cp.interval !== undefined) {
      // A bare number is seconds, as everywhere in the policy.
      const ms = typeof cp.interval === "number" ? cp.interval * 1000 : parseDuration(cp.interval);
      if (ms === undefined || ms <= 0)
        throw new QueryError(`audit.checkpoint.interval '${cp.interval}' is not a duration`, "use e.g. 30s, 5m, 1h");
      opts.checkpointIntervalMs = ms;
    }
  }
  return opts;
}
