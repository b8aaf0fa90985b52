// SARIF 2.1.0 for GitHub code scanning: every catalog rule with help text and
// `security-severity`, results with repo-relative locations and partialFingerprints, suppressed
// findings carried as SARIF suppressions (so code scanning shows them as dismissed).

import type { SourcePos } from "../model/types.ts";
import type { Rule, ScanResult, Severity } from "../scan/index.ts";
import { RULES } from "../scan/index.ts";
import type { ReportOptions } from "./common.ts";

const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
  info: "0.0",
};
const LEVEL: Record<Severity, "error" | "warning" | "note"> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
  info: "note",
};

export const RULES_URI = "https://github.com/corral-dev/corral/blob/main/docs/rules";

function pascal(title: string): string {
  return title
    .replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ""))
    .replace(/^./, (c) => c.toUpperCase());
}

export function ruleHelpMarkdown(r: Rule): string {
  return [`**${r.title}** (${r.severity}, ${r.cwe})`, "", r.rationale, "", "Fix:", "", "```yaml", r.fix, "```"].join(
    "\n",
  );
}

function sarifRule(r: Rule) {
  return {
    id: r.id,
    name: pascal(r.title),
    shortDescription: { text: r.title },
    fullDescription: { text: r.rationale },
    helpUri: `${RULES_URI}/${r.id}.md`,
    help: { text: `${r.rationale}\n\nFix:\n${r.fix}`, markdown: ruleHelpMarkdown(r) },
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: {
      tags: ["security", r.family, `external/cwe/${r.cwe.toLowerCase()}`],
      precision: "high",
      "problem.severity": LEVEL[r.severity] === "note" ? "recommendation" : LEVEL[r.severity],
      "security-severity": SECURITY_SEVERITY[r.severity],
    },
  };
}

function uri(path: string): string {
  if (path.startsWith("/")) return `file://${encodeURI(path)}`;
  return encodeURI(path.split("\\").join("/"));
}

function physical(pos: SourcePos, show: (f: string) => string) {
  return {
    artifactLocation: { uri: uri(show(pos.file)) },
    region: { startLine: pos.line, startColumn: pos.col },
  };
}

export function toSarif(result: ScanResult, opts: ReportOptions = {}) {
  const show = opts.displayPath ?? ((f: string) => f);
  const rules = RULES.filter((r) => r.platforms.includes(result.deployment.platform));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "corral",
            informationUri: "https://github.com/corral-dev/corral",
            version: opts.toolVersion ?? "0.0.0",
            semanticVersion: opts.toolVersion ?? "0.0.0",
            rules: rules.map(sarifRule),
          },
        },
        columnKind: "unicodeCodePoints",
        results: result.findings.map((f) => ({
          ruleId: f.ruleId,
          ...(index.has(f.ruleId) ? { ruleIndex: index.get(f.ruleId) } : {}),
          level: LEVEL[f.severity],
          message: { text: `${f.service}: ${f.message}` },
          locations: [
            {
              physicalLocation: physical(f.pos, show),
              logicalLocations: [{ name: f.service, kind: "module" }],
            },
          ],
          // The primary location is where the fix goes; these are the uses it explains (SARIF §3.27.22).
          ...(f.related?.length
            ? {
                relatedLocations: f.related.map((r, i) => ({
                  id: i + 1,
                  physicalLocation: physical(r.pos, show),
                  message: { text: r.message },
                })),
              }
            : {}),
          partialFingerprints: { "corralFindingHash/v1": f.fingerprint },
          properties: { service: f.service, severity: f.severity, ...(f.profiles ? { profiles: f.profiles } : {}) },
          ...(f.suppressed
            ? {
                suppressions: [
                  {
                    kind: f.suppressed.by === "inline" ? "inSource" : "external",
                    status: "accepted",
                    justification: f.suppressed.reason,
                  },
                ],
              }
            : {}),
        })),
      },
    ],
  };
}

export function renderSarif(result: ScanResult, opts: ReportOptions = {}): string {
  return `${JSON.stringify(toSarif(result, opts), null, 2)}\n`;
}
