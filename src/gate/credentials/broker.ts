// The credential broker's decision on one request, pure: find every placeholder the request
// carries (target, headers, a Basic header's decoded form), and either swap each one for its
// real value — only where its credential is sent, only toward its destination, only for the
// identity it was made for and permitted to use it, only within its methods and paths — or
// refuse the whole request as an exfiltration attempt. The request body is scanned by
// BodyScanner below; a placeholder there is never a place a key is sent.
import querystring from "node:querystring";
import type { Decision } from "../decide.ts";
import { ambiguousPath, pathCovers } from "../decide-http.ts";
import type { CompiledCredential, CredentialIndex, Placeholder } from "./credential-index.ts";

export interface BrokerRequest {
  identity: string | undefined;
  host: string;
  port: number;
  method: string;
  /** path and query as sent */
  target: string;
  /** the request travels in a TLS tunnel the gate terminated (a key never goes out in clear) */
  tls: boolean;
  headers: readonly [string, string][];
}

export type Brokered =
  | { kind: "pass"; target: string; headers: [string, string][]; used: readonly string[]; decision?: Decision }
  | { kind: "deny"; decision: Decision }
  /** a permitted use whose real value the gate does not have: fail closed, never send the placeholder */
  | { kind: "unavailable"; credential: string };

type Where =
  | { kind: "target" }
  | { kind: "header"; index: number; form: "raw" | "bearer" | "basic-user" | "basic-password" };

interface Found {
  p: Placeholder;
  where: Where;
}

const ruleOf = (credential: string) => ({ id: `credential:${credential}`, name: credential });

function refusal(
  code: "credential-exfiltration" | "credential-forbidden" | "credential-scope",
  p: Placeholder,
  detail: string,
): Decision {
  return { verdict: "deny", mode: "enforce", code, detail: `${p.credential}: ${detail}`, rule: ruleOf(p.credential) };
}

export function exfiltrationInBody(p: Placeholder): Decision {
  return refusal("credential-exfiltration", p, "placeholder in the request body");
}

function findIn(text: string, placeholders: readonly Placeholder[]): Placeholder[] {
  const out: Placeholder[] = [];
  for (const p of placeholders) if (text.includes(p.text) && !out.some((o) => o.text.includes(p.text))) out.push(p);
  return out;
}

function basicParts(value: string): { user: string; password: string } | undefined {
  const m = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(value);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0
    ? { user: decoded, password: "" }
    : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The target decoded the way a lenient server reads it (`+` as a space): querystring.unescape
 * decodes every valid %XX even when another escape is malformed, so one bad escape elsewhere
 * cannot hide an encoded placeholder.
 */
function lenientDecode(s: string): string {
  return querystring.unescape(s.replace(/\+/g, " "));
}

/** The query's one `name=<placeholder>` pair, written out plainly, or undefined. */
function queryPair(target: string, name: string, p: Placeholder): { index: number; pairs: string[] } | undefined {
  const q = target.indexOf("?");
  if (q < 0) return undefined;
  const path = target.slice(0, q);
  // Anywhere but that one pair (the path, another parameter, an encoded spelling) it would be
  // moved to where the server reads, or echoes, something else.
  if (path.includes(p.text) || lenientDecode(path).includes(p.text)) return undefined;
  const pairs = target.slice(q + 1).split("&");
  const hits = pairs.flatMap((pair, index) =>
    pair.includes(p.text) || lenientDecode(pair).includes(p.text) ? [index] : [],
  );
  if (hits.length !== 1 || pairs[hits[0]!] !== `${name}=${p.text}`) return undefined;
  return { index: hits[0]!, pairs };
}

function locate(req: BrokerRequest, placeholders: readonly Placeholder[]): Found[] {
  const found: Found[] = [];
  const inTarget = new Set([...findIn(req.target, placeholders), ...findIn(lenientDecode(req.target), placeholders)]);
  for (const p of inTarget) found.push({ p, where: { kind: "target" } });
  req.headers.forEach(([name, value], index) => {
    const basic = name.toLowerCase() === "authorization" ? basicParts(value) : undefined;
    if (basic) {
      for (const p of findIn(basic.user, placeholders))
        found.push({ p, where: { kind: "header", index, form: "basic-user" } });
      for (const p of findIn(basic.password, placeholders))
        found.push({ p, where: { kind: "header", index, form: "basic-password" } });
    }
    for (const p of findIn(value, placeholders)) {
      const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value)?.[1] === p.text;
      found.push({ p, where: { kind: "header", index, form: bearer ? "bearer" : "raw" } });
    }
  });
  return found;
}

/** Whether `f` is exactly where its credential is sent. */
function atSendLocation(c: CompiledCredential, f: Found, req: BrokerRequest): boolean {
  const { where, p } = f;
  if (typeof c.send === "object" && "query" in c.send)
    return where.kind === "target" && queryPair(req.target, c.send.query, p) !== undefined;
  if (where.kind !== "header") return false;
  const name = req.headers[where.index]![0].toLowerCase();
  if (c.send === "bearer") return name === "authorization" && where.form === "bearer";
  if (c.send === "basic") {
    const parts = basicParts(req.headers[where.index]![1])!;
    return (
      name === "authorization" &&
      ((where.form === "basic-password" && parts.password === p.text) ||
        (where.form === "basic-user" && parts.user === p.text && parts.password === ""))
    );
  }
  return name === c.send.header.toLowerCase() && where.form === "raw" && req.headers[where.index]![1].trim() === p.text;
}

function scopeRefusal(c: CompiledCredential, p: Placeholder, req: BrokerRequest): Decision | undefined {
  const path = req.target.split("?")[0]!;
  // A server that supports TRACE sends the request back, real header and all.
  if (req.method.toUpperCase() === "TRACE") return refusal("credential-scope", p, "TRACE echoes the request back");
  if (c.methods && !c.methods.has(req.method)) return refusal("credential-scope", p, `method ${req.method} not bound`);
  if (c.paths) {
    const ambiguous = ambiguousPath(path);
    if (ambiguous) return refusal("credential-scope", p, ambiguous);
    if (!c.paths.some((prefix) => pathCovers(prefix, path)))
      return refusal("credential-scope", p, `path ${path} not bound`);
  }
  return undefined;
}

function swapped(c: CompiledCredential, f: Found, real: string, target: string, headers: [string, string][]): string {
  if (f.where.kind === "target" && typeof c.send === "object" && "query" in c.send) {
    const q = queryPair(target, c.send.query, f.p)!;
    q.pairs[q.index] = `${c.send.query}=${encodeURIComponent(real)}`;
    return `${target.slice(0, target.indexOf("?"))}?${q.pairs.join("&")}`;
  }
  if (f.where.kind === "target") return target;
  const h = headers[f.where.index]!;
  if (c.send === "bearer") h[1] = `Bearer ${real}`;
  else if (c.send === "basic") {
    const parts = basicParts(h[1])!;
    const pair = f.where.form === "basic-user" ? `${real}:` : `${parts.user}:${real}`;
    h[1] = `Basic ${Buffer.from(pair).toString("base64")}`;
  } else h[1] = real;
  return target;
}

export function brokerRequest(
  index: CredentialIndex,
  req: BrokerRequest,
  value: (credential: string) => string | undefined,
): Brokered {
  const none = { kind: "pass" as const, target: req.target, headers: req.headers as [string, string][], used: [] };
  if (index.placeholders.length === 0) return none;
  const found = locate(req, index.placeholders);
  if (found.length === 0) return none;
  for (const f of found) {
    const c = index.credentials.get(f.p.credential)!;
    const where = `${req.host}:${req.port}`;
    if (c.host !== req.host || c.port !== req.port)
      return {
        kind: "deny",
        decision: refusal("credential-exfiltration", f.p, `placeholder sent to ${where}, bound to ${c.host}:${c.port}`),
      };
    if (!req.tls)
      return {
        kind: "deny",
        decision: refusal("credential-exfiltration", f.p, `placeholder sent to ${where} over plain HTTP`),
      };
    if (!atSendLocation(c, f, req))
      return {
        kind: "deny",
        decision: refusal(
          "credential-exfiltration",
          f.p,
          f.where.kind === "target"
            ? "placeholder in the request target"
            : `placeholder in header ${req.headers[f.where.index]![0]}`,
        ),
      };
    if (req.identity === undefined || req.identity !== f.p.owner)
      return {
        kind: "deny",
        decision: refusal(
          "credential-forbidden",
          f.p,
          `placeholder of ${f.p.principal} presented by ${req.identity ?? "an unknown client"}`,
        ),
      };
    if (!c.users.has(req.identity))
      return { kind: "deny", decision: refusal("credential-forbidden", f.p, `'${req.identity}' may not use it`) };
    const scope = scopeRefusal(c, f.p, req);
    if (scope) return { kind: "deny", decision: scope };
  }
  let target = req.target;
  const headers = req.headers.map(([n, v]) => [n, v] as [string, string]);
  const used: string[] = [];
  for (const f of found) {
    const c = index.credentials.get(f.p.credential)!;
    const real = value(c.name);
    if (real === undefined) return { kind: "unavailable", credential: c.name };
    target = swapped(c, f, real, target, headers);
    if (!used.includes(c.name)) used.push(c.name);
  }
  const decision: Decision = {
    verdict: "allow",
    mode: "enforce",
    code: "brokered",
    detail: used.map((u) => `'${u}'`).join(", "),
    rule: ruleOf(used[0]!),
  };
  return { kind: "pass", target, headers, used, decision };
}

/**
 * Finds a placeholder in a body streamed chunk by chunk. The last bytes of each chunk are kept
 * to catch one split across two; the caller stops relaying on a hit, so at most a prefix of a
 * placeholder ever leaves.
 */
export class BodyScanner {
  private carry: Buffer = Buffer.alloc(0);
  private readonly needles: { p: Placeholder; bytes: Buffer }[];
  private readonly keep: number;

  constructor(placeholders: readonly Placeholder[]) {
    this.needles = placeholders.map((p) => ({ p, bytes: Buffer.from(p.text) }));
    this.keep = Math.max(0, ...this.needles.map((n) => n.bytes.length - 1));
  }

  feed(chunk: Buffer): Placeholder | undefined {
    const hay = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    for (const n of this.needles) if (hay.indexOf(n.bytes) >= 0) return n.p;
    this.carry = Buffer.from(hay.subarray(Math.max(0, hay.length - this.keep)));
    return undefined;
  }
}
