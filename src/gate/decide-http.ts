// Decisions on one request inside a terminated TLS tunnel (or a plain forward): the principal's
// request rules for that destination, by method and path prefix. Pure, beside decide(): the
// same typed reasons, the same rule ids in the log. A path the gate cannot read one way only
// (dot segments, encoded slashes, backslashes, empty segments) is refused wherever a path
// matters: upstream servers normalise it differently, and a prefix check on it proves nothing.
// That includes what servers decode or strip before routing: a percent-encoded letter, digit or
// `-._~` (RFC 3986 §6.2.2.2 says they equal the plain ones), `;` parameters (Tomcat and Jetty
// drop `..;`), a fragment, an encoded `%`.
import type { CompiledRequestRule, CredentialIndex, RequestMatch } from "./credentials/credential-index.ts";
import type { Decision } from "./decide.ts";

export interface HttpRequestTarget {
  host: string;
  port: number;
  method: string;
  /** the request target's path, without its query */
  path: string;
}

/** Why a path is ambiguous, or undefined when it reads one way. */
export function ambiguousPath(path: string): string | undefined {
  if (!path.startsWith("/")) return "the path does not start with /";
  if (path.includes("\\")) return "a backslash in the path";
  if (/%(2f|5c)/i.test(path)) return "an encoded slash in the path";
  if (/%2e/i.test(path)) return "an encoded dot in the path";
  if (/%00/.test(path)) return "an encoded NUL in the path";
  if (/%(3b|23|25)/i.test(path)) return "an encoded ';', '#' or '%' in the path";
  if (/%(4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|3[0-9]|2d|5f|7e)/i.test(path))
    return "a percent-encoded letter, digit or -._~ in the path";
  if (path.includes(";")) return "a ';' parameter in the path";
  if (path.includes("#")) return "a fragment in the request target";
  const segments = path.split("/").slice(1);
  if (segments.some((s) => s === "." || s === "..")) return "a dot segment in the path";
  if (segments.slice(0, -1).some((s) => s === "")) return "an empty segment (//) in the path";
  return undefined;
}

/** Segment-wise prefix: `/v1/chat` covers `/v1/chat` and `/v1/chat/x`, not `/v1/chatty`. */
export function pathCovers(prefix: string, path: string): boolean {
  if (prefix.endsWith("/")) return path.startsWith(prefix) || path === prefix.slice(0, -1);
  return path === prefix || path.startsWith(`${prefix}/`);
}

const matches = (m: RequestMatch, t: HttpRequestTarget) =>
  (m.method === "*" || m.method === t.method) && pathCovers(m.prefix, t.path);

/**
 * A deny reaches further than the exact spelling: servers that match paths ignoring case
 * (ASP.NET Core) or read a `.json` suffix as a format (Rails) serve `/V1/admin` and
 * `/v1/admin.json` as `/v1/admin`.
 */
const denies = (m: RequestMatch, t: HttpRequestTarget) => {
  if (m.method !== "*" && m.method !== t.method) return false;
  const prefix = m.prefix.toLowerCase();
  const path = t.path.toLowerCase();
  return pathCovers(prefix, path) || (!prefix.endsWith("/") && path.startsWith(`${prefix}.`));
};

const ruleRef = (r: CompiledRequestRule) => ({ id: r.id, name: r.name });

/**
 * The request rules' verdict, or undefined when no rule of this identity names the
 * destination (the tunnel's own decision stands).
 */
export function decideHttpRequest(
  index: CredentialIndex,
  identity: string | undefined,
  t: HttpRequestTarget,
): Decision | undefined {
  if (identity === undefined) return undefined;
  const rules = (index.requestRules.get(identity) ?? []).filter((r) => r.host === t.host && r.port === t.port);
  if (rules.length === 0) return undefined;
  // Methods are case-sensitive (RFC 9110 §9.1) and the policy's are upper case; servers that
  // upper-case what they read (Werkzeug) would serve `delete` as DELETE past a deny.
  const ambiguous =
    t.method !== t.method.toUpperCase() ? `method '${t.method}' is not upper case` : ambiguousPath(t.path);
  if (ambiguous)
    return { verdict: "deny", mode: "enforce", code: "path-ambiguous", detail: ambiguous, rule: ruleRef(rules[0]!) };
  const where = `${t.method} ${t.path}`;
  for (const r of rules) {
    const hit = r.deny.find((m) => denies(m, t));
    if (hit)
      return {
        verdict: "deny",
        mode: "enforce",
        code: "request-denied",
        detail: `'${hit.raw}' (${where})`,
        rule: ruleRef(r),
      };
  }
  for (const r of rules) {
    const hit = r.allow.find((m) => matches(m, t));
    if (hit)
      return { verdict: "allow", mode: "enforce", code: "request-listed", detail: `'${hit.raw}'`, rule: ruleRef(r) };
  }
  return { verdict: "deny", mode: "enforce", code: "request-unlisted", detail: where, rule: ruleRef(rules[0]!) };
}
