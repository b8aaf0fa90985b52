// A host as written by a client → an address literal, a normalised DNS name, or invalid.
// Memoised (bounded): the same few names arrive thousands of times a second, and IDNA
// normalisation is the costliest step of a decision. Pure: same input, same output.
import { normalizeHostname } from "../policy/destination.ts";
import { type Addr, formatAddr, parseIpLiteral } from "./ssrf.ts";

export type HostForm =
  | { kind: "ip"; addr: Addr }
  | { kind: "name"; name: string }
  | { kind: "invalid"; literal: boolean };

const MAX = 10_000;
const memo = new Map<string, HostForm>();

function classify(host: string): HostForm {
  const literal = parseIpLiteral(host);
  if (literal === "invalid") return { kind: "invalid", literal: true };
  if (literal) return { kind: "ip", addr: literal };
  const name = normalizeHostname(host);
  return name ? { kind: "name", name } : { kind: "invalid", literal: false };
}

export function hostForm(host: string): HostForm {
  let f = memo.get(host);
  if (f) return f;
  f = classify(host);
  if (memo.size >= MAX) memo.delete(memo.keys().next().value as string);
  memo.set(host, f);
  return f;
}

/** Two spellings of one host: the same address, or the same normalised name. */
export function sameHost(a: string, b: string): boolean {
  const la = parseIpLiteral(a);
  const lb = parseIpLiteral(b);
  if (la && la !== "invalid" && lb && lb !== "invalid") return formatAddr(la) === formatAddr(lb);
  if (la || lb) return false;
  const na = normalizeHostname(a);
  return na !== undefined && na === normalizeHostname(b);
}

/** The URL host as the decision should see it: no brackets. */
export function urlHost(u: URL): string {
  return u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
}
