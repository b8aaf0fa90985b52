// From "identity wants host:port" to "dial exactly this address": decide on the name, resolve
// it once through the gate's resolver, decide again on EVERY address (floor, CIDR rules), and
// hand back the one checked address. Nothing resolves the name a second time. A lookup that
// fails is not a decision: the route carries the allow decision and the failure beside it.
import type { GateContext } from "../context.ts";
import { type Decision, decide, FLOOR_RULE, type Grant } from "../decide.ts";
import { decideName } from "../decide-cached.ts";
import { hostForm } from "../names.ts";
import type { PolicyIndex } from "../policy-index.ts";
import { type Addr, canonical, formatAddr } from "../ssrf.ts";

export type Route =
  | { decision: Decision; addr: Addr; addrText: string; name?: string }
  | { decision: Decision; addr?: undefined; name?: string; failure?: string };

function hasAddressRules(index: PolicyIndex, identity: string | undefined): boolean {
  if (identity === undefined) return false;
  return (index.rules.get(identity) ?? []).some((r) => r.allow.some((d) => d.host.kind === "cidr"));
}

// Literal destinations need no resolution, so their route is a pure function of the policy
// snapshot, identity, host and port, remembered unless the decision depends on grants.
function literalRoute(
  index: PolicyIndex,
  identity: string | undefined,
  host: string,
  port: number,
  dctx: { grants: readonly Grant[]; now: number },
): Route | undefined {
  const key = `${identity === undefined ? "\u0001" : identity}\u0000${port}\u0000${host}`;
  const known = index.cache.literalRoutes.get(key);
  if (known) return known;
  const form = hostForm(host);
  if (form.kind !== "ip") return undefined;
  const decision = decide(index, identity, { ip: form.addr, port }, dctx);
  let r: Route;
  if (decision.verdict === "allow") {
    const addr = canonical(form.addr);
    r = { decision, addr, addrText: formatAddr(addr) };
  } else r = { decision };
  if (!decision.dependsOnGrants) {
    Object.freeze(decision);
    index.cache.literalRoutes.set(key, Object.freeze(r));
  }
  return r;
}

const withDetail = (d: Decision, detail: string): Decision => ({
  ...d,
  detail: d.detail ? `${d.detail} (${detail})` : detail,
});

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
  if (first.verdict === "deny" && (first.rule.id === FLOOR_RULE.id || !hasAddressRules(snap.index, identity)))
    return { decision: first, name: first.name };
  const name = first.name;
  if (name === undefined) return { decision: first };
  let addrs: Addr[];
  try {
    addrs = (await ctx.resolver.addresses(name)).addrs;
  } catch (err) {
    return { decision: first, name, failure: `DNS lookup of ${name} failed: ${(err as Error).message}` };
  }
  if (addrs.length === 0) return { decision: first, name, failure: `no address for ${name}` };
  let chosen: { addr: Addr; decision: Decision } | undefined;
  for (const a of addrs) {
    const d = decide(snap.index, identity, { name, ip: a, port }, dctx);
    // One inside answer poisons the whole set: a mixed answer is how rebinding hides.
    if (d.rule.id === FLOOR_RULE.id)
      return { decision: { ...withDetail(d, `${name} resolved to ${formatAddr(a)}`), code: "rebinding" }, name };
    if (d.verdict === "deny") {
      if (first.verdict === "allow") return { decision: withDetail(d, `${name} → ${formatAddr(a)}`), name };
      continue;
    }
    if (!chosen || (chosen.addr.kind() === "ipv6" && canonical(a).kind() === "ipv4"))
      chosen = { addr: canonical(a), decision: d };
  }
  if (!chosen) return { decision: first, name };
  return { decision: chosen.decision, addr: chosen.addr, addrText: formatAddr(chosen.addr), name };
}
