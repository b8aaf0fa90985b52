// The baseline file: accepted findings, each with a reason. Parsed with positions (JSON is YAML)
// so a bad entry is reported at its line.
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { InputError } from "../model/errors.ts";
import type { BaselineEntry } from "./suppress.ts";
import type { Finding } from "./types.ts";

export const BASELINE_VERSION = 1;

const Entry = z.object({
  ruleId: z.string().regex(/^CRL-[A-Z]\d{3}$/),
  service: z.string().min(1),
  reason: z.string().optional(),
});
const File = z.object({ schemaVersion: z.literal(BASELINE_VERSION), entries: z.array(Entry) });

export function parseBaseline(text: string, file: string): BaselineEntry[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const posOf = (offset: number | undefined) => {
    const p = lc.linePos(offset ?? 0);
    return { file, line: p.line, col: p.col };
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new InputError(
      `baseline is not valid JSON: ${e?.message.split("\n")[0]}`,
      posOf(e?.pos[0]),
      "rewrite it with --write-baseline",
    );
  }
  const parsed = File.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const node = issue ? doc.getIn(issue.path as Array<string | number>, true) : undefined;
    const offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0];
    throw new InputError(
      `baseline: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
      posOf(offset),
      'expected { "schemaVersion": 1, "entries": [{ "ruleId": "CRL-N001", "service": "proxy", "reason": "…" }] }',
    );
  }
  return parsed.data.entries.map((e, i) => {
    const node = doc.getIn(["entries", i], true) as { range?: [number, number, number] } | undefined;
    return {
      ruleId: e.ruleId,
      service: e.service,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      pos: posOf(node?.range?.[0]),
    };
  });
}

/** One entry per (rule, service) among the active findings, sorted, with the given reason. */
export function renderBaseline(findings: readonly Finding[], reason: string): string {
  const keys = new Map<string, { ruleId: string; service: string; reason: string }>();
  for (const f of findings) {
    // Inline suppressions live in the files; entries already in the baseline keep their reason.
    if (f.suppressed?.by === "inline") continue;
    const kept = f.suppressed?.reason ?? reason;
    keys.set(`${f.ruleId}\0${f.service}`, { ruleId: f.ruleId, service: f.service, reason: kept });
  }
  const entries = [...keys.values()].sort(
    (a, b) => a.ruleId.localeCompare(b.ruleId) || a.service.localeCompare(b.service),
  );
  return `${JSON.stringify({ schemaVersion: BASELINE_VERSION, entries }, null, 2)}\n`;
}
