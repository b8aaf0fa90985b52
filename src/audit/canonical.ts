// Canonical encoding, the byte string every record hash is computed over.
//
// Definition (compatible with RFC 8785 / JCS for the values Corral stores):
//   - objects: keys sorted by UTF-16 code units (JavaScript's default sort), members joined as
//     "key":value with no whitespace; members whose value is undefined are left out;
//   - arrays: elements in order, no whitespace (undefined becomes null, as in JSON.stringify);
//   - strings, booleans, null and numbers: exactly JSON.stringify's output (ECMAScript number
//     formatting); NaN, Infinity, bigint, functions and symbols are refused, never coerced;
//   - objects with toJSON (Date) are encoded as what toJSON returns.
// A record's hash is SHA-256 (hex) over the UTF-8 bytes of the canonical encoding of the record
// without its `hash` member; the line stored on disk is the canonical encoding of the record
// with it, followed by "\n". Verifiers compare the stored line byte for byte with the canonical
// re-encoding, so whitespace or escape changes are caught even when the parsed value is equal.
import { createHash } from "node:crypto";

export class CanonicalError extends Error {
  override name = "CanonicalError";
}

export function canonicalize(value: unknown, path = "$"): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalError(`${path}: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case "object": {
      const withJson = value as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === "function") return canonicalize(withJson.toJSON(), path);
      if (Array.isArray(value)) {
        const parts = value.map((v, i) => (v === undefined ? "null" : canonicalize(v, `${path}[${i}]`)));
        return `[${parts.join(",")}]`;
      }
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(obj).sort()) {
        const v = obj[key];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${canonicalize(v, `${path}.${key}`)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      throw new CanonicalError(`${path}: a ${typeof value} cannot be stored in the audit log`);
  }
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}
