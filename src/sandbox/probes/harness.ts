// Test helpers for the escape probes (probes/escape.py): the host's namespace inodes the probes
// compare against, and their JSON-line results.
import { readlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const PROBES_DIR = fileURLToPath(new URL(".", import.meta.url)).replace(/\/$/, "");
export const ESCAPE_PY = `${PROBES_DIR}/escape.py`;

export interface ProbeResult {
  probe: string;
  contained: boolean;
  detail: string;
}

/** `user:123,pid:456,…`: a probe seeing any of these inodes is not sandboxed and refuses. */
export function hostNs(): string {
  return ["user", "pid", "net", "mnt", "ipc", "uts"]
    .map((k) => `${k}:${/\[(\d+)\]/.exec(readlinkSync(`/proc/self/ns/${k}`))?.[1]}`)
    .join(",");
}

/** Probe results by name (the part before `=`); the last one wins. */
export function parseProbes(stdout: string): Map<string, ProbeResult> {
  const out = new Map<string, ProbeResult>();
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const p = JSON.parse(line) as ProbeResult;
    out.set(p.probe.split("=")[0] ?? p.probe, p);
  }
  return out;
}
