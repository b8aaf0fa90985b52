// A pull-request comment: summary, a findings table (capped, most severe first), suppressed
// findings folded away.
import type { ScanResult } from "../scan/index.ts";
import { SEVERITIES } from "../scan/index.ts";
import { bySeverity, counts, type ReportOptions } from "./common.ts";

const ICON = { critical: "🟣", high: "🔴", medium: "🟠", low: "🔵", info: "⚪" } as const;
const MAX_ROWS = 100;

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function renderMarkdown(result: ScanResult, opts: ReportOptions = {}): string {
  const show = opts.displayPath ?? ((f: string) => f);
  const c = counts(result.findings);
  const out: string[] = ["### Corral scan", ""];
  out.push(
    c.total === 0
      ? `No findings in ${result.deployment.services.length} services.`
      : `**${c.total} finding${c.total === 1 ? "" : "s"}** in ${result.deployment.services.length} services — ${SEVERITIES.filter(
          (s) => c[s] > 0,
        )
          .map((s) => `${ICON[s]} ${c[s]} ${s}`)
          .join(" · ")}${c.suppressed ? ` · ${c.suppressed} suppressed` : ""}`,
  );
  if (result.scope) out.push("", `> ${result.scope}`);
  const active = result.findings.filter((f) => !f.suppressed).sort(bySeverity);
  if (active.length > 0) {
    out.push("", "| | Rule | Service | Location | Finding |", "|---|---|---|---|---|");
    for (const f of active.slice(0, MAX_ROWS)) {
      out.push(
        `| ${ICON[f.severity]} | \`${f.ruleId}\` | ${cell(f.service)} | \`${cell(show(f.pos.file))}:${f.pos.line}\` | ${cell(f.message)} |`,
      );
    }
    if (active.length > MAX_ROWS) out.push("", `…and ${active.length - MAX_ROWS} more (see the SARIF or JSON report).`);
  }
  const suppressed = result.findings.filter((f) => f.suppressed);
  if (suppressed.length > 0) {
    out.push(
      "",
      `<details><summary>${suppressed.length} suppressed</summary>`,
      "",
      "| Rule | Service | By | Reason |",
      "|---|---|---|---|",
    );
    for (const f of suppressed)
      out.push(`| \`${f.ruleId}\` | ${cell(f.service)} | ${f.suppressed?.by} | ${cell(f.suppressed?.reason ?? "")} |`);
    out.push("", "</details>");
  }
  return `${out.join("\n")}\n`;
}
