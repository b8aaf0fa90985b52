// Service `volumes` in short (`src:target:mode`) and long syntax, and `tmpfs` entries.
import { isAbsolute, posix, resolve } from "node:path";
import type { Mount } from "../types.ts";

export type ParsedMount = Omit<Mount, "pos">;

const PROPAGATION = new Set(["shared", "rshared", "slave", "rslave", "private", "rprivate"]);

function isPathLike(s: string): boolean {
  return s.startsWith(".") || s.startsWith("/") || s.startsWith("~") || /^[a-zA-Z]:[\\/]/.test(s) || s.startsWith("\\");
}

const WINDOWS_PATH = /^([a-zA-Z]:[\\/]|\\)/;

/**
 * A bind source as the engine receives it, as compose resolves it per file: `~` against HOME
 * (left as written when HOME is unknown, as compose does with a warning) and relative paths
 * against the file's project directory. Windows paths are left alone: only a Windows engine
 * reads them.
 */
export function resolveBindSource(source: string, baseDir: string, home: string | undefined): string {
  if (WINDOWS_PATH.test(source)) return source;
  if (source === "~" || source.startsWith("~/")) {
    if (home === undefined || home === "") return source;
    source = home + source.slice(1);
  }
  return isAbsolute(source) ? source : resolve(baseDir, source);
}

/** A short-syntax volume with its bind source resolved (named volumes are left as they are). */
export function resolveShortVolume(spec: string, baseDir: string, home: string | undefined): string {
  const parts = splitSpec(spec);
  const source = parts[0] ?? "";
  if (parts.length < 2 || !isPathLike(source)) return spec;
  return [resolveBindSource(source, baseDir, home), ...parts.slice(1)].join(":");
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

/** Container paths as compose cleans them: `/data/` and `/data/./x/..` are both `/data`. */
function cleanTarget(target: string): string {
  return target.startsWith("/") ? posix.normalize(target).replace(/(.)\/+$/, "$1") : target;
}

export function parseShortVolume(spec: string): ParsedMount | { error: string } {
  const parts = splitSpec(spec);
  if (parts.length === 1) {
    const target = parts[0] ?? "";
    if (target === "") return { error: "empty volume" };
    return { type: "volume", target: cleanTarget(target), readOnly: false };
  }
  if (parts.length > 3) return { error: `too many ":" in volume "${spec}"` };
  const [source = "", target = "", modeText = ""] = parts;
  if (target === "") return { error: `volume "${spec}" has no container path` };
  if (source === "") return { error: `volume "${spec}" has an empty source` };
  const modes = modeText === "" ? [] : modeText.split(",");
  const mount: ParsedMount = {
    type: isPathLike(source) ? "bind" : "volume",
    source,
    target: cleanTarget(target),
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
    target: cleanTarget(v.target),
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
