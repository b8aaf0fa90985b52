// Service `volumes` in short (`src:target:mode`) and long syntax, and `tmpfs` entries.
import type { Mount } from "../types.ts";

export type ParsedMount = Omit<Mount, "pos">;

const PROPAGATION = new Set(["shared", "rshared", "slave", "rslave", "private", "rprivate"]);

function isPathLike(s: string): boolean {
  return s.startsWith(".") || s.startsWith("/") || s.startsWith("~") || /^[a-zA-Z]:[\\/]/.test(s) || s.startsWith("\\");
}

/** Splits on `:` but keeps Windows drive letters (`C:\x`) together. */
function splitSpec(spec: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === ":" && !(cur.length === 1 && /[a-zA-Z]/.test(cur) && /[\\/]/.test(spec[i + 1] ?? ""))) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

export function parseShortVolume(spec: string): ParsedMount | { error: string } {
  const parts = splitSpec(spec);
  if (parts.length === 1) {
    const target = parts[0] ?? "";
    if (target === "") return { error: "empty volume" };
    return { type: "volume", target, readOnly: false };
  }
  if (parts.length > 3) return { error: `too many ":" in volume "${spec}"` };
  const [source = "", target = "", modeText = ""] = parts;
  if (target === "") return { error: `volume "${spec}" has no container path` };
  if (source === "") return { error: `volume "${spec}" has an empty source` };
  const modes = modeText === "" ? [] : modeText.split(",");
  const mount: ParsedMount = {
    type: isPathLike(source) ? "bind" : "volume",
    source,
    target,
    readOnly: modes.includes("ro"),
  };
  const propagation = modes.find((m) => PROPAGATION.has(m));
  if (propagation) mount.propagation = propagation;
  return mount;
}

export function parseLongVolume(v: {
  type?: string;
  source?: string;
  target?: string;
  read_only?: boolean;
  propagation?: string;
}): ParsedMount | { error: string } {
  if (!v.target) return { error: "`target` is required" };
  const known = ["bind", "volume", "tmpfs", "npipe", "cluster", "image"] as const;
  const t = (v.type ?? "volume") as (typeof known)[number];
  const mount: ParsedMount = {
    type: (known as readonly string[]).includes(t) ? t : "other",
    target: v.target,
    readOnly: v.read_only === true,
  };
  if (v.source) mount.source = v.source;
  if (v.propagation) mount.propagation = v.propagation;
  return mount;
}

/** A `tmpfs:` entry: "/run" or "/run:size=64m,mode=1777". */
export function parseTmpfs(spec: string): ParsedMount {
  const colon = spec.indexOf(":");
  return { type: "tmpfs", target: colon < 0 ? spec : spec.slice(0, colon), readOnly: false };
}
