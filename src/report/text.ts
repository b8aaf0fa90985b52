// Human output: findings grouped by service, most severe first, each with the offending source
// line and its neighbours; suppressed findings listed with their reasons at the end.

import type { Finding, ScanResult, Severity } from "../scan/index.ts";
import { lineAt } from "../scan/index.ts";
import { bySeverity, groupByService, type ReportOptions, summaryLine } from "./common.ts";
import { type Colour, paint } from "./paint.ts";

const COLOUR: Record<Severity, Colour> = {
  critical: "magenta",
  high: "red",
  medium: "yellow",
  low: "blue",
  info: "gray",
};

function snippet(f: Finding, opts: ReportOptions, color: boolean): string[] {
  if (!opts.sources) return [];
  const out: string[] = [];
  const width = String(f.pos.line + 1).length;
  for (let n = f.pos.line - 1; n <= f.pos.line + 1; n++) {
    const text = n >= 1 ? lineAt(opts.sources, f.pos.file, n) : undefined;
    if (text === undefined) continue;
    const num = String(n).padStart(width);
    if (n === f.pos.line) {
      out.push(`    ${paint(`${num} │`, "bold", color)} ${text}`);
      out.push(
        `    ${" ".repeat(width)} │ ${" ".repeat(Math.max(0, f.pos.col - 1))}${paint("^", COLOUR[f.severity], color)}`,
      );
    } else {
      out.push(`    ${paint(`${num} │`, "gray", color)} ${paint(text, "gray", color)}`);
    }
  }
  return out;
}

export function renderText(result: ScanResult, opts: ReportOptions = {}): string {
  const color = opts.color ?? false;
  const show = opts.displayPath ?? ((f: string) => f);
  const lines: string[] = [];
  const active = result.findings.filter((f) => !f.suppressed);
  for (const [service, findings] of groupByService(active)) {
    // a service behind a profile only starts with `--profile`: say so, the fix may be to drop it
    const profiles = findings[0]?.profiles;
    lines.push(paint(service, "bold", color) + (profiles ? `  (profiles: ${profiles.join(", ")})` : ""));
    // Several findings often point at the same line (the service key): show it once.
    const shown = new Set<string>();
    for (const f of [...findings].sort(bySeverity)) {
      const sev = paint(f.severity.toUpperCase().padEnd(8), COLOUR[f.severity], color);
      lines.push(`  ${sev} ${f.ruleId}  ${f.message}`);
      lines.push(
        `    ${paint(`${show(f.pos.file)}:${f.pos.line}:${f.pos.col}`, "gray", color)}  ${paint(f.title, "gray", color)}`,
      );
      const at = `${f.pos.file}:${f.pos.line}`;
      if (!shown.has(at)) lines.push(...snippet(f, opts, color));
      shown.add(at);
      // the primary location is where to fix it; these say where it takes effect
      for (const r of f.related ?? []) {
        const text = opts.sources ? lineAt(opts.sources, r.pos.file, r.pos.line)?.trim() : undefined;
        lines.push(
          `    ${paint("↳", "gray", color)} ${paint(`${show(r.pos.file)}:${r.pos.line}:${r.pos.col}`, "gray", color)}  ${r.message}${text ? paint(`  │ ${text}`, "gray", color) : ""}`,
        );
      }
    }
    lines.push("");
  }
  const suppressed = result.findings.filter((f) => f.suppressed);
  if (suppressed.length > 0) {
    lines.push(paint("suppressed", "bold", color));
    for (const f of suppressed) {
      const by = f.suppressed?.by === "baseline" ? "baseline" : "inline";
      lines.push(`  ${f.ruleId}  ${f.service}  ${show(f.pos.file)}:${f.pos.line}  (${by}: ${f.suppressed?.reason})`);
    }
    lines.push("");
  }
  if (result.policy && result.undeclared.length > 0) {
    lines.push(
      paint(
        `reachability not declared in ${show(result.policy.file)}: ${result.undeclared.length} edge(s)`,
        "red",
        color,
      ),
    );
    lines.push("");
  }
  lines.push(summaryLine(result));
  if (result.scope) lines.push(paint(result.scope, "yellow", color));
  return `${lines.join("\n")}\n`;
}
