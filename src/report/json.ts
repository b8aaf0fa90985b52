// Machine output with a stable, versioned schema (documented in docs/scan-json.md).

import type { ScanResult } from "../scan/index.ts";
import { idOf } from "../scan/index.ts";
import { counts, inactiveProfiles, type ReportOptions } from "./common.ts";

export const JSON_SCHEMA_VERSION = 1;

export function toJson(result: ScanResult, opts: ReportOptions = {}) {
  const show = opts.displayPath ?? ((f: string) => f);
  const c = counts(result.findings);
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    tool: { name: "corral", version: opts.toolVersion ?? "0.0.0" },
    platform: result.deployment.platform,
    files: result.deployment.files.map(show),
    summary: {
      services: result.deployment.services.length,
      findings: c.total,
      suppressed: c.suppressed,
      inactiveProfiles: inactiveProfiles(result),
      bySeverity: { critical: c.critical, high: c.high, medium: c.medium, low: c.low, info: c.info },
      ...(result.scope ? { scope: result.scope } : {}),
    },
    services: result.deployment.services.map((s) => {
      const id = idOf(s);
      return { id, tier: result.tiers.get(id) ?? "agents", file: show(s.pos.file), line: s.pos.line };
    }),
    findings: result.findings.map((f) => ({
      ruleId: f.ruleId,
      severity: f.severity,
      title: f.title,
      service: f.service,
      message: f.message,
      location: { file: show(f.pos.file), line: f.pos.line, column: f.pos.col },
      related: (f.related ?? []).map((r) => ({
        file: show(r.pos.file),
        line: r.pos.line,
        column: r.pos.col,
        message: r.message,
      })),
      fingerprint: f.fingerprint,
      profiles: f.profiles ?? [],
      suppressed: f.suppressed
        ? {
            by: f.suppressed.by,
            reason: f.suppressed.reason,
            ...(f.suppressed.pos
              ? {
                  location: {
                    file: show(f.suppressed.pos.file),
                    line: f.suppressed.pos.line,
                    column: f.suppressed.pos.col,
                  },
                }
              : {}),
          }
        : null,
    })),
    reachability: {
      edges: result.reach.edges.map((e) => ({
        from: e.from,
        to: e.to,
        ports:
          e.ports === "all"
            ? "all"
            : e.ports.map((p) => `${p.from === p.to ? p.from : `${p.from}-${p.to}`}/${p.protocol}`),
        declared: result.policy ? !result.undeclared.includes(e) : null,
      })),
    },
  };
}

export function renderJson(result: ScanResult, opts: ReportOptions = {}): string {
  return `${JSON.stringify(toJson(result, opts), null, 2)}\n`;
}
