// The one place that decides. Pure: same index, identity, destination and grants → same
// decision, and every decision names the rule and the reason (Smokescreen's ACL shape).
import { addressMatches, type Destination, nameMatches, portMatches } from "../policy/destination.ts";
import { hostForm } from "./names.ts";
import type { CompiledRule, Mode, PolicyIndex } from "./policy-index.ts";
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
  reason: string;
  rule: { id: string; name: string };
  /** report/learn: the policy would have denied this */
  wouldDeny?: boolean;
  /** a denial the client may ask a human to approve */
  approvable?: boolean;
  /** the normalised name the decision was made on */
  name?: string;
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

function deny(reason: string, rule: Decision["rule"], mode: Mode = "enforce", extra: Partial<Decision> = {}): Decision {
  return { verdict: "deny", mode, reason, rule, ...extra };
}

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
    if (form.kind === "invalid") {
      return deny(
        form.literal ? `malformed address literal '${target.name}'` : `invalid host name '${target.name}'`,
        DEFAULT_RULE,
      );
    }
    if (form.kind === "ip") ip = form.addr;
    else name = form.name;
  }
  if (target.port !== undefined && (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535)) {
    return deny(`invalid port ${target.port}`, DEFAULT_RULE, "enforce", { name });
  }
  if (ip) {
    const floor = floorVerdict(index.floor, ip, target.port);
    if (floor) return deny(`ssrf floor: ${floor}`, FLOOR_RULE, "enforce", { name });
  }
  if (identity === undefined) return deny("unknown client: no identity matched", DEFAULT_RULE, "enforce", { name });
  const rules: readonly CompiledRule[] = index.rules.get(identity) ?? [];
  if (rules.length === 0) return deny(`no egress rule for '${identity}'`, DEFAULT_RULE, "enforce", { name });

  for (const rule of rules) {
    const hit = rule.deny.find((d) => matches(d, name, ip, target.port));
    if (hit) return softDeny(rule, `denied by '${hit.raw}'`, name);
  }
  for (const rule of rules) {
    const hit = rule.allow.find((d) => matches(d, name, ip, target.port));
    if (hit)
      return {
        verdict: "allow",
        mode: rule.mode,
        reason: `allowed by '${hit.raw}'`,
        rule: { id: rule.id, name: rule.name },
        name,
      };
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
    return { verdict: "allow", mode: "enforce", reason: "allowed by an approved request", rule: GRANT_RULE, name };
  // No rule names the destination: the most permissive mode among the identity's rules decides
  // whether that is a denial, a logged "would deny", or a destination to learn.
  const learn = rules.find((r) => r.mode === "learn");
  if (learn)
    return {
      verdict: "allow",
      mode: "learn",
      reason: "learn mode: recorded",
      rule: { id: learn.id, name: learn.name },
      wouldDeny: true,
      name,
    };
  const report = rules.find((r) => r.mode === "report");
  if (report)
    return {
      verdict: "allow",
      mode: "report",
      reason: "report mode: would deny (not in allow list)",
      rule: { id: report.id, name: report.name },
      wouldDeny: true,
      name,
    };
  const ask = rules.find((r) => r.approval === "ask");
  const last = rules[rules.length - 1]!;
  return deny("not in allow list", ask ? { id: ask.id, name: ask.name } : { id: last.id, name: last.name }, "enforce", {
    approvable: ask !== undefined,
    name,
  });
}

function softDeny(rule: CompiledRule, reason: string, name: string | undefined): Decision {
  if (rule.mode === "enforce")
    return deny(reason, { id: rule.id, name: rule.name }, "enforce", { name, approvable: rule.approval === "ask" });
  return {
    verdict: "allow",
    mode: rule.mode,
    reason: `${rule.mode} mode: would deny (${reason})`,
    rule: { id: rule.id, name: rule.name },
    wouldDeny: true,
    name,
  };
}
