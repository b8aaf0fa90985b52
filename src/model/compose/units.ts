// Docker's byte sizes (go-units RAMInBytes: 1024-based, `512m`, `1gb`, `2G`, plain bytes)
// and CPU counts.

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i;

/** Bytes, or undefined when the text is not a size. */
export function parseBytes(v: string | number): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  const s = v.trim();
  if (s === "") return undefined;
  const m = SIZE.exec(s);
  if (!m) {
    // a bare "b" suffix without a number prefix unit, e.g. "100b"
    return undefined;
  }
  const n = Number(m[1]);
  const unit = UNITS[(m[2] ?? "").toLowerCase()] ?? 1;
  return Math.floor(n * unit);
}

/** CPU count ("0.5", 2), or undefined when not a number. */
export function parseCpus(v: string | number): number | undefined {
  const n = typeof v === "number" ? v : Number(v.trim());
  return typeof v === "string" && v.trim() === "" ? undefined : Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** A non-negative integer (pids limits), or undefined. */
export function parseInteger(v: string | number): number | undefined {
  const n = typeof v === "number" ? v : Number(v.trim());
  return typeof v === "string" && v.trim() === "" ? undefined : Number.isInteger(n) ? n : undefined;
}
