// Shared by every report format: counts, ordering and file-name display.
import type { ScanResult, Sources } from "../scan/index.ts";
import { type Finding, SEVERITIES, type Severity } from "../scan/index.ts";

export interface ReportOptions {
  /** How to print a file path (e.g. relative to the working directory). */
  displayPath?: (file: string) => string;
  color?: boolean;
  sources?: Sources;
  toolVersion?: string;
}

export function counts(findings: readonly Finding[]): Record<Severity, number> & { suppressed: number; total: number } {
  const c = { critical: 0, high: 0, medium: 0, low: 0, info: 0, suppressed: 0, total: 0 };
  for (const f of findings) {
    if (f.suppressed) c.suppressed++;
    else {
      c[f.severity]++;
      c.total++;
    }
  }
  return c;
}

export function bySeverity(a: Finding, b: Finding): number {
  return SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity);
}

export function groupByService(findings: readonly Finding[]): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>();
  for (const f of findings) out.set(f.service, [...(out.get(f.service) ?? []), f]);
  return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Services behind profiles that are not enabled, and whether the scan looked at them anyway. */
export function inactiveProfiles(result: ScanResult): { count: number; scanned: boolean } {
  const inactive = result.deployment.inactive ?? [];
  const names = new Set(result.deployment.services.map((s) => s.name));
  return { count: inactive.length, scanned: inactive.length > 0 && inactive.every((n) => names.has(n)) };
}

export function summaryLine(result: ScanResult): string {
  const c = counts(result.findings);
  const parts = SEVERITIES.filter((s) => c[s] > 0).map((s) => `${c[s]} ${s}`);
  const p = inactiveProfiles(result);
  const behind =
    p.count === 0
      ? ""
      : `, ${p.count} behind inactive profiles (${p.scanned ? "scanned; findings name their profiles" : "not scanned"})`;
  return `${c.total} finding${c.total === 1 ? "" : "s"}${parts.length ? ` (${parts.join(", ")})` : ""}, ${c.suppressed} suppressed, ${result.deployment.services.length} services${behind}`;
}
