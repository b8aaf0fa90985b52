// From "identity wants host:port" to "dial exactly this address": decide on the name, resolve
// it once through the gate's resolver, decide again on EVERY address (floor, CIDR rules), and
// hand back the one checked address. Nothing resolves the name a second time.
import type { GateContext } from "../context.ts";
import { type Decision, decide, FLOOR_RULE } from "../decide.ts";
import { hostForm } from "../names.ts";
import type { PolicyIndex } from "../policy-index.ts";
import { type Addr, canonical, formatAddr } from "../ssrf.ts";

export type Route =
  | { decision: Decision; addr: Addr; name?: string }
  | { decision: Decision; addr?: undefined; name?: string; status: number };

function hasAddressRules(index: PolicyIndex, identity: string | undefined): boolean {
  if (identity === undefined) return false;
  return (index.rules.get(identity) ?? []).some((r) => r.allow.some((d) => d.host.kind === "cidr"));
}

export async function route(
  ctx: GateContext,
  identity: string | undefined,
  host: string,
  port: number,
): Promise<Route> {
  const snap = ctx.snapshot();
  const dctx = { grants: snap.grants, now: ctx.now() };
  const form = hostForm(host);
  if (form.kind === "ip") {
    const decision = decide(snap.index, identity, { ip: form.addr, port }, dctx);
    return decision.verdict === "allow" ? { decision, addr: canonical(form.addr) } : { decision, status: 403 };
  }
  const first = decide(snap.index, identity, { name: host, port }, dctx);
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
