// From "identity wants host:port" to "dial exactly this address": decide on the name, resolve
// it once through the gate's resolver, decide again on EVERY address (floor, CIDR rules), and
// hand back the one checked address. Nothing resolves the name a second time.
import type { GateContext } from "../context.ts";
import { type Decision, decide, FLOOR_RULE, type Grant } from "../decide.ts";
import { decideName } from "../dns/decide-memo.ts";
import { hostForm } from "../names.ts";
import type { PolicyIndex } from "../policy-index.ts";
import { type Addr, canonical, formatAddr } from "../ssrf.ts";

export type Route =
  | { decision: Decision; addr: Addr; name?: string /** formatAddr(addr), when known */; addrText?: string }
  | { decision: Decision; addr?: undefined; addrText?: undefined; name?: string; status: number };

function hasAddressRules(index: PolicyIndex, identity: string | undefined): boolean {
  if (identity === undefined) return false;
  return (index.rules.get(identity) ?? []).some((r) => r.allow.some((d) => d.host.kind === "cidr"));
}

// Literal destinations need no resolution, so their route is a pure function of the policy
// snapshot, identity, host and port: kept per snapshot (the index object is the generation),
// unless the decision went as far as the grants (those depend on approvals and the clock).
const LITERAL_MAX = 8192;
const literalRoutes = new WeakMap<PolicyIndex, Map<string, Route>>();
const GRANT_DEPENDENT = new Set([
  "not in allow list",
  "learn mode: recorded",
  "report mode: would deny (not in allow list)",
  "allowed by an approved request",
]);

function literalRoute(
  index: PolicyIndex,
  identity: string | undefined,
  host: string,
  port: number,
  dctx: { grants: readonly Grant[]; now: number },
): Route | undefined {
  let memo = literalRoutes.get(index);
  if (!memo) {
    memo = new Map();
    literalRoutes.set(index, memo);
  }
  const key = `${identity === undefined ? "\u0001" : identity}\u0000${port}\u0000${host}`;
  const known = memo.get(key);
  if (known) return known;
  const form = hostForm(host);
  if (form.kind !== "ip") return undefined;
  const decision = decide(index, identity, { ip: form.addr, port }, dctx);
  let r: Route;
  if (decision.verdict === "allow") {
    const addr = canonical(form.addr);
    r = { decision, addr, addrText: formatAddr(addr) };
  } else r = { decision, status: 403 };
  if (!GRANT_DEPENDENT.has(decision.reason)) {
    if (memo.size >= LITERAL_MAX) memo.clear();
    Object.freeze(decision);
    memo.set(key, Object.freeze(r));
  }
  return r;
}

export async function route(
  ctx: GateContext,
  identity: string | undefined,
  host: string,
  port: number,
): Promise<Route> {
  const snap = ctx.snapshot();
  const dctx = { grants: snap.grants, now: ctx.now() };
  const literal = literalRoute(snap.index, identity, host, port, dctx);
  if (literal) return literal;
  const first = decideName(snap.index, identity, host, port, dctx);
  if (first.verdict === "deny" && (first.rule.id === "floor" || !hasAddressRules(snap.index, identity)))
    return { decision: first, status: 403, name: first.name };
  const name = first.name;
  if (name === undefined) return { decision: first, status: 403 };
  let addrs: Addr[];
  try {
    addrs = (await ctx.resolver.addresses(name)).addrs;
  } catch {
    return {
      decision: { ...first, verdict: "deny", reason: `${first.reason}; DNS upstream failed` },
      status: 502,
      name,
    };
  }
  if (addrs.length === 0)
    return {
      decision: { ...first, verdict: "deny", reason: `${first.reason}; no address for ${name}` },
      status: 502,
      name,
    };
  let chosen: { addr: Addr; decision: Decision } | undefined;
  for (const a of addrs) {
    const d = decide(snap.index, identity, { name, ip: a, port }, dctx);
    // One inside answer poisons the whole set: a mixed answer is how rebinding hides.
    if (d.rule.id === FLOOR_RULE.id) {
      return { decision: { ...d, reason: `${d.reason} (${name} resolved to ${formatAddr(a)})` }, status: 403, name };
    }
    if (d.verdict === "deny") {
      if (first.verdict === "allow")
        return { decision: { ...d, reason: `${d.reason} (${name} → ${formatAddr(a)})` }, status: 403, name };
      continue;
    }
    if (!chosen || (chosen.addr.kind() === "ipv6" && canonical(a).kind() === "ipv4"))
      chosen = { addr: canonical(a), decision: d };
  }
  if (!chosen) return { decision: first, status: 403, name };
  return { decision: chosen.decision, addr: chosen.addr, name };
}
