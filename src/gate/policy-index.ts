// The policy, compiled once per load into what the gate looks up per request: which egress
// rules apply to each principal, how clients are recognised, and the SSRF floor.
import ipaddr from "ipaddr.js";
import { type Destination, parseDestination } from "../policy/destination.ts";
import type { Policy } from "../policy/schema.ts";
import { UserError } from "../policy/user-error.ts";
import { buildCredentialIndex, type CredentialIndex } from "./credentials/credential-index.ts";
import type { EphemeralIdentities } from "./ephemeral.ts";
import { SnapshotCache } from "./snapshot-cache.ts";
import { type Cidr, type Floor, parseFloor } from "./ssrf.ts";

export type Mode = "enforce" | "report" | "learn";

export interface CompiledRule {
  id: string;
  name: string;
  allow: Destination[];
  deny: Destination[];
  mode: Mode;
  approval: "ask" | "never";
}

export interface PolicyIndex {
  /** principal (service or identity name) → rules in policy order */
  rules: Map<string, CompiledRule[]>;
  /** identity recognised by source address; first match wins, in policy order */
  sources: { cidr: Cidr; identity: string }[];
  /** token value → identity, from each identity's token_env */
  tokens: Map<string, string>;
  /** address → service, from `--map service=ip` and map files */
  serviceAddrs: Map<string, string>;
  floor: Floor;
  denyAnswer: "nxdomain" | "refused";
  /** per-run tokens minted at the admin API; outlive policy reloads, so shared, not rebuilt */
  ephemeral?: EphemeralIdentities;
  /** everything remembered between requests under this policy (the index is the generation) */
  cache: SnapshotCache;
  /** credentials, placeholders, request rules and the destinations terminated for them */
  credentials: CredentialIndex;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${body}$`);
}

/** Every principal a `from` name stands for: a zone's services (globs matched against known
 * services), or the name itself (a service or identity). */
function expandFrom(policy: Policy, name: string, knownServices: readonly string[]): string[] {
  const zone = policy.zones[name];
  if (!zone) return [name];
  const out: string[] = [];
  for (const s of zone.services) {
    if (s.includes("*")) {
      const re = globToRegExp(s);
      for (const k of knownServices) if (re.test(k)) out.push(k);
    } else out.push(s);
  }
  return out;
}

export interface IndexOptions {
  env?: NodeJS.ProcessEnv;
  /** service name → address(es) */
  serviceMap?: Record<string, string | string[]>;
  self?: Floor["self"];
  ephemeral?: EphemeralIdentities;
}

export function buildIndex(policy: Policy, opts: IndexOptions = {}): PolicyIndex {
  const env = opts.env ?? {};
  const serviceAddrs = new Map<string, string>();
  for (const [service, addrs] of Object.entries(opts.serviceMap ?? {})) {
    for (const a of Array.isArray(addrs) ? addrs : [addrs]) {
      serviceAddrs.set(ipaddr.process(a).toString(), service);
    }
  }
  const knownServices = [
    ...new Set([...serviceAddrs.values(), ...Object.values(policy.zones).flatMap((z) => z.services)]),
  ];
  const rules = new Map<string, CompiledRule[]>();
  policy.egress.forEach((rule, i) => {
    const compiled: CompiledRule = {
      // Stable across reordering (ids are in the audit log): a principal is named in the `from`
      // of one rule only (policy/check.ts), so the sorted `from` names the rule.
      id: `egress:${[...rule.from].sort().join(",")}`,
      name: rule.name ?? `${rule.from.join(",")}#${i}`,
      allow: rule.allow.map((d) => parsedOrThrow(d)),
      deny: rule.deny.map((d) => parsedOrThrow(d)),
      mode: rule.mode,
      approval: rule.approval,
    };
    const principals = new Set(rule.from.flatMap((f) => expandFrom(policy, f, knownServices)));
    for (const p of principals) {
      const list = rules.get(p) ?? [];
      list.push(compiled);
      rules.set(p, list);
    }
  });
  const sources: PolicyIndex["sources"] = [];
  const tokens = new Map<string, string>();
  for (const [name, ident] of Object.entries(policy.identities)) {
    for (const s of ident.source ?? []) {
      const text = s.includes("/") ? s : `${s}/${s.includes(":") ? 128 : 32}`;
      const [addr, prefix] = ipaddr.parseCIDR(text);
      sources.push({ cidr: { addr, prefix, label: name }, identity: name });
    }
    if (ident.token_env) {
      const token = env[ident.token_env];
      if (token) tokens.set(token, name);
    }
    for (const service of ident.services ?? []) {
      for (const [addr, svc] of serviceAddrs) if (svc === service) serviceAddrs.set(addr, name);
    }
  }
  const identityOfService = new Map<string, string>();
  for (const [name, ident] of Object.entries(policy.identities))
    for (const service of ident.services ?? []) identityOfService.set(service, name);
  const credentials = buildCredentialIndex({
    policy,
    principals: [...knownServices.filter((s) => !s.includes("*")), ...Object.keys(policy.identities)],
    identityOf: (p) => identityOfService.get(p) ?? p,
    expand: (n) => expandFrom(policy, n, knownServices),
  });
  return {
    rules,
    sources,
    tokens,
    credentials,
    serviceAddrs,
    floor: parseFloor(policy.floor.allow_ranges, opts.self ?? []),
    denyAnswer: policy.dns.deny_answer,
    cache: new SnapshotCache(),
    ...(opts.ephemeral ? { ephemeral: opts.ephemeral } : {}),
  };
}

function parsedOrThrow(raw: string): Destination {
  const d = parseDestination(raw);
  if ("error" in d) throw new UserError(d.error, { hint: d.hint });
  return d;
}
