// Pure: a RunReport as text for people (one summary line, then details worth acting on).
import type { RunReport } from "./types.ts";

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const HIT_TEXT: Record<string, string> = {
  oom: "memory limit (OOM-killed)",
  pids: "pids limit (fork refused)",
  timeout: "wall-clock limit (killed)",
  fsize: "file size limit",
  cpu: "cpu limit",
};

export function formatReport(r: RunReport): string {
  const status = r.exitCode === null ? `signal ${r.signal}` : `exit ${r.exitCode}${r.signal ? ` (${r.signal})` : ""}`;
  const parts = [
    status,
    `${r.durationMs} ms`,
    r.peakMemoryBytes === null ? "peak memory n/a" : `peak ${formatBytes(r.peakMemoryBytes)}`,
    r.cpuTimeMs === null ? "cpu n/a" : `cpu ${r.cpuTimeMs} ms`,
  ];
  const lines = [`corral run ${r.id} [${r.profile}]: ${parts.join(", ")}`];
  if (r.limitHits.length > 0) lines.push(`  limits hit: ${r.limitHits.map((h) => HIT_TEXT[h] ?? h).join(", ")}`);
  const names = [...new Set(r.deniedEgress.map((d) => d.name))];
  if (names.length > 0) lines.push(`  direct egress refused (DNS lookups bypassing the gate): ${names.join(", ")}`);
  const denied = r.gateRequests.filter((g) => g.status >= 400);
  if (r.gateRequests.length > 0)
    lines.push(
      `  via gate: ${r.gateRequests.length} requests, ${denied.length} refused${denied.length ? `: ${denied.map((d) => `${d.method} ${d.target} → ${d.status}`).join(", ")}` : ""}`,
    );
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join("\n")}\n`;
}
