// The one place that decides where a request may go. Pure: same index, identity, destination
// and grants → same decision, and every decision names its rule and a reason code from a closed
// set (Smokescreen's ACL shape), and says itself whether it may be remembered.
import { addressMatches, type Destination, nameMatches, portMatches } from "../policy/destination.ts";
import { hostForm } from "./names.ts";
import type { CompiledRule, Mode, PolicyIndex } from "./policy-index.ts";
import type { ReasonCode } from "./reason.ts";
import { type Addr, floorVerdict } from "./ssrf.ts";

export interface Target {
  /** a DNS name as the client wrote it (normalised here) */
  name?: string;
  ip?: Addr;
  /** undefined for DNS questions: "may this name be reached on any port" */
  port?: number;
}

export interface Grant {
  identity: string;
  name?: string;
  ip?: string;
  port?: number;
  expires: number;
}

export interface Decision {
  verdict: "allow" | "deny";
  mode: Mode;
  code: ReasonCode;
  /** what a person needs beyond the code: the entry that matched, the address, the limit */
  detail?: string;
  rule: { id: string; name: string };
  /** report/learn: the policy would have denied this */
  wouldDeny?: boolean;
  /** a denial the client may ask a human to approve */
  approvable?: boolean;
  /** the normalised name the decision was made on */
  name?: string;
  /**
   * Made after the grants were consulted: an approval or the clock can change it, so nothing
   * may remember it beyond this request. Every other decision is a function of the snapshot.
   */
  dependsOnGrants?: true;
}

export const DEFAULT_RULE = { id: "default", name: "default-deny" } as const;
export const FLOOR_RULE = { id: "floor", name: "ssrf-floor" } as const;
export const GRANT_RULE = { id: "approval", name: "approved-request" } as const;

export interface DecideContext {
  grants?: readonly Grant[];
  now?: number;
}

function matches(d: Destination, name: string | undefined, ip: Addr | undefined, port: number | undefined): boolean {
  if (port !== undefined && !portMatches(d, port)) return false;
  if (name !== undefined && nameMatches(d.host, name)) return true;
  return ip !== undefined && addressMatches(d.host, ip);
}

function refuse(code: ReasonCode, detail: string | undefined, rule: Decision["rule"], name?: string): Decision {
  const d: Decision = { verdict: "deny", mode: "enforce", code, rule };
  if (detail !== undefined) d.detail = detail;
  if (name !== undefined) d.name = name;
  return d;
}

const ruleRef = (r: CompiledRule): Decision["rule"] => ({ id: r.id, name: r.name });

export function decide(
  index: PolicyIndex,
  identity: string | undefined,
  target: Target,
  ctx: DecideContext = {},
): Decision {
  let name: string | undefined;
  let ip = target.ip;
  if (target.name !== undefined) {
    const form = hostForm(target.name);
    if (form.kind === "invalid")
      return refuse(form.literal ? "invalid-address" : "invalid-name", `'${target.name}'`, DEFAULT_RULE);
    if (form.kind === "ip") ip = form.addr;
    else name = form.name;
  }
  if (target.port !== undefined && (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535))
    return refuse("invalid-port", String(target.port), DEFAULT_RULE, name);
  if (ip) {
    const floor = floorVerdict(index.floor, ip, target.port);
    if (floor) return refuse("floor", floor, FLOOR_RULE, name);
  }
  if (identity === undefined) return refuse("identity-unknown", undefined, DEFAULT_RULE, name);
  const rules: readonly CompiledRule[] = index.rules.get(identity) ?? [];
  if (rules.length === 0) return refuse("no-rule", `'${identity}'`, DEFAULT_RULE, name);

  for (const rule of rules) {
    const hit = rule.deny.find((d) => matches(d, name, ip, target.port));
    if (hit) return denyListed(rule, `'${hit.raw}'`, name);
  }
  for (const rule of rules) {
    const hit = rule.allow.find((d) => matches(d, name, ip, target.port));
    if (hit)
      return withName(
        { verdict: "allow", mode: rule.mode, code: "listed", detail: `'${hit.raw}'`, rule: ruleRef(rule) },
        name,
      );
  }
  const now = ctx.now ?? 0;
  const ipText = ip?.toString();
  const grant = ctx.grants?.find(
    (g) =>
      g.identity === identity &&
      g.expires > now &&
      (g.port === undefined || target.port === undefined || g.port === target.port) &&
      ((g.name !== undefined && g.name === name) || (g.ip !== undefined && g.ip === ipText)),
  );
  if (grant)
    return withName(
      { verdict: "allow", mode: "enforce", code: "grant", rule: GRANT_RULE, dependsOnGrants: true },
      name,
    );
  // No rule names the destination: the most permissive mode among the identity's rules decides
  // whether that is a denial, a logged "would deny", or a destination to learn.
  const learn = rules.find((r) => r.mode === "learn");
  if (learn)
    return withName(
      { verdict: "allow", mode: "learn", code: "learn", rule: ruleRef(learn), wouldDeny: true, dependsOnGrants: true },
      name,
    );
  const report = rules.find((r) => r.mode === "report");
  if (report)
    return withName(
      {
        verdict: "allow",
        mode: "report",
        code: "report",
        detail: "not in allow list",
        rule: ruleRef(report),
        wouldDeny: true,
        dependsOnGrants: true,
      },
      name,
    );
  const ask = rules.find((r) => r.approval === "ask");
  const d = refuse("unlisted", undefined, ruleRef(ask ?? rules[rules.length - 1]!), name);
  d.dependsOnGrants = true;
  if (ask) d.approvable = true;
  return d;
}

function withName(d: Decision, name: string | undefined): Decision {
  if (name !== undefined) d.name = name;
  return d;
}

function denyListed(rule: CompiledRule, entry: string, name: string | undefined): Decision {
  // Not approvable even under `approval: ask`: a grant is consulted after the deny entries, so
  // approving it would change nothing.
  if (rule.mode === "enforce") return refuse("deny-listed", entry, ruleRef(rule), name);
  return withName(
    {
      verdict: "allow",
      mode: rule.mode,
      code: rule.mode,
      detail: `denied by ${entry}`,
      rule: ruleRef(rule),
      wouldDeny: true,
    },
    name,
  );
}
