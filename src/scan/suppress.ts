// Suppressions: inline `# corral-ignore <rule-id>[, <rule-id>…]: <reason>` comments and baseline
// entries. Both need a reason; one without a reason suppresses nothing and is itself reported.
// Suppressed findings stay in the result, marked, so reports can count and list them.
import type { Service, SourcePos } from "../model/types.ts";
import { ruleById } from "./catalog.ts";
import { fingerprint } from "./engine.ts";
import { idOf } from "./ids.ts";
import { BASELINE_WITHOUT_REASON, SUPPRESSION_WITHOUT_REASON } from "./rules/meta.ts";
import type { Sources } from "./sources.ts";
import type { Finding } from "./types.ts";

export interface InlineDirective {
  ruleIds: string[];
  reason?: string;
  pos: SourcePos;
}

export interface BaselineEntry {
  ruleId: string;
  service: string;
  reason?: string;
  pos?: SourcePos;
}

const DIRECTIVE = /#\s*corral-ignore\s+([A-Za-z]+-[A-Za-z]\d{3}(?:\s*,\s*[A-Za-z]+-[A-Za-z]\d{3})*)\s*(?::(.*))?$/;

export function parseDirectives(file: string, lines: readonly string[]): Map<number, InlineDirective> {
  const out = new Map<number, InlineDirective>();
  lines.forEach((text, i) => {
    if (!text.includes("corral-ignore")) return;
    const m = DIRECTIVE.exec(text);
    if (!m) return;
    const reason = m[2]?.trim();
    out.set(i + 1, {
      ruleIds: (m[1] ?? "").split(",").map((x) => x.trim().toUpperCase()),
      ...(reason ? { reason } : {}),
      pos: { file, line: i + 1, col: (m.index ?? 0) + 1 },
    });
  });
  return out;
}

function meta(ruleId: string, service: string, message: string, pos: SourcePos, text: string): Finding {
  const rule = ruleById(ruleId);
  return {
    ruleId,
    severity: rule?.severity ?? "low",
    title: rule?.title ?? ruleId,
    service,
    message,
    pos,
    fingerprint: fingerprint(ruleId, service, text, 0),
  };
}

/** Applies inline directives; returns the findings (some marked suppressed) plus any reason-less-directive findings. */
export function applyInline(findings: Finding[], services: readonly Service[], sources: Sources): Finding[] {
  const directives = new Map<string, Map<number, InlineDirective>>();
  const forFile = (file: string) => {
    let d = directives.get(file);
    if (!d) {
      const lines = sources.get(file);
      d = lines ? parseDirectives(file, lines) : new Map();
      directives.set(file, d);
    }
    return d;
  };
  const keyLine = new Map(services.map((s) => [idOf(s), s.pos]));
  const reported = new Set<InlineDirective>();
  const extra: Finding[] = [];
  const out = findings.map((f) => {
    const candidates: Array<InlineDirective | undefined> = [
      forFile(f.pos.file).get(f.pos.line),
      forFile(f.pos.file).get(f.pos.line - 1),
    ];
    const key = keyLine.get(f.service);
    if (key) candidates.push(forFile(key.file).get(key.line));
    // A directive written beside a related location (the mount a hostPath finding used to point
    // at) still applies: moving a finding to where its fix is must not unsuppress it.
    for (const r of f.related ?? []) candidates.push(forFile(r.pos.file).get(r.pos.line));
    const d = candidates.find((c) => c?.ruleIds.includes(f.ruleId));
    if (!d) return f;
    if (!d.reason) {
      if (!reported.has(d)) {
        reported.add(d);
        extra.push(
          meta(
            SUPPRESSION_WITHOUT_REASON,
            f.service,
            `corral-ignore ${d.ruleIds.join(", ")} has no reason, so it suppresses nothing (write \`# corral-ignore ${f.ruleId}: <why>\`)`,
            d.pos,
            sources.get(d.pos.file)?.[d.pos.line - 1] ?? "",
          ),
        );
      }
      return f;
    }
    return { ...f, suppressed: { by: "inline" as const, reason: d.reason, pos: d.pos } };
  });
  return [...out, ...extra];
}

export function applyBaseline(findings: Finding[], entries: readonly BaselineEntry[], baselineFile: string): Finding[] {
  const extra: Finding[] = [];
  const valid = entries.filter((e) => {
    if (e.reason?.trim()) return true;
    extra.push(
      meta(
        BASELINE_WITHOUT_REASON,
        e.service,
        `baseline entry ${e.ruleId} for ${e.service} has no reason, so it suppresses nothing`,
        e.pos ?? { file: baselineFile, line: 1, col: 1 },
        `${e.ruleId}\0${e.service}`,
      ),
    );
    return false;
  });
  const out = findings.map((f) => {
    if (f.suppressed) return f;
    const e = valid.find((x) => x.ruleId === f.ruleId && x.service === f.service);
    return e
      ? {
          ...f,
          suppressed: {
            by: "baseline" as const,
            reason: e.reason ?? "",
            pos: e.pos ?? { file: baselineFile, line: 1, col: 1 },
          },
        }
      : f;
  });
  return [...out, ...extra];
}
