// The policy's `credentials:` and `requests:` compiled for lookups per request: which
// destinations the gate terminates TLS for, the placeholders it recognises (one per credential
// and principal, derived as `corral compile` derives them), who may use each credential, where
// it may go and how it is sent, and each principal's request rules.

import { agentVariable, guessFormat, placeholderFor } from "../../policy/placeholder.ts";
import type { Policy } from "../../policy/schema.ts";
import { REQUEST_MATCH } from "../../policy/schema.ts";
import { hostForm } from "../names.ts";

export type Send = "bearer" | "basic" | { header: string } | { query: string };

export interface CompiledCredential {
  name: string;
  /** identities that may have the real value sent for them */
  users: ReadonlySet<string>;
  host: string;
  port: number;
  methods?: ReadonlySet<string>;
  paths?: readonly string[];
  send: Send;
}

export interface Placeholder {
  text: string;
  credential: string;
  /** the principal it was made for (a service, or an identity) */
  principal: string;
  /** the identity that principal is decided as */
  owner: string;
}

export interface RequestMatch {
  method: string;
  prefix: string;
  raw: string;
}

export interface CompiledRequestRule {
  id: string;
  name: string;
  host: string;
  port: number;
  allow: RequestMatch[];
  deny: RequestMatch[];
}

export interface CredentialIndex {
  credentials: ReadonlyMap<string, CompiledCredential>;
  /** longest first, so a placeholder that contains another is found whole */
  placeholders: readonly Placeholder[];
  /** `host:port` the gate terminates TLS for */
  terminated: ReadonlySet<string>;
  /** identity → its request rules, policy order */
  requestRules: ReadonlyMap<string, readonly CompiledRequestRule[]>;
}

export const EMPTY_CREDENTIALS: CredentialIndex = Object.freeze({
  credentials: new Map(),
  placeholders: [],
  terminated: new Set<string>(),
  requestRules: new Map(),
});

export const destinationKey = (host: string, port: number): string => `${host}:${port}`;

/** The form a destination is compared in: a name lower-cased without its dot, an IP canonical. */
export function canonicalHost(host: string): string {
  const form = hostForm(host);
  if (form.kind === "name") return form.name;
  if (form.kind === "ip") return form.addr.toString();
  return host.toLowerCase();
}

export function parseRequestMatch(raw: string): RequestMatch {
  const m = REQUEST_MATCH.exec(raw);
  if (!m) throw new Error(`'${raw}' is not a method and a path prefix`);
  return { method: m[1]!, prefix: m[2]!, raw };
}

export interface CredentialIndexInput {
  policy: Policy;
  /** every principal the gate knows as a client (services by name, identities) */
  principals: readonly string[];
  /** principal → identity it is decided as (services listed under an identity) */
  identityOf: (principal: string) => string;
  /** zones/services/identities in a `for`/`from` → principals */
  expand: (name: string) => readonly string[];
}

export function buildCredentialIndex(input: CredentialIndexInput): CredentialIndex {
  const { policy } = input;
  const names = Object.keys(policy.credentials);
  if (names.length === 0 && policy.requests.length === 0) return EMPTY_CREDENTIALS;
  const project = policy.project ?? "";
  const credentials = new Map<string, CompiledCredential>();
  const placeholders: Placeholder[] = [];
  const terminated = new Set<string>();
  for (const [name, c] of Object.entries(policy.credentials)) {
    const host = canonicalHost(c.to.host);
    const users = new Set(c.for.flatMap((f) => input.expand(f)).map((p) => input.identityOf(p)));
    credentials.set(name, {
      name,
      users,
      host,
      port: c.to.port,
      ...(c.to.methods ? { methods: new Set(c.to.methods) } : {}),
      ...(c.to.paths ? { paths: c.to.paths } : {}),
      send: c.send,
    });
    terminated.add(destinationKey(host, c.to.port));
    const format = c.format ?? guessFormat(agentVariable(name, c));
    for (const principal of new Set(input.principals))
      placeholders.push({
        text: placeholderFor(project, name, principal, format),
        credential: name,
        principal,
        owner: input.identityOf(principal),
      });
  }
  const requestRules = new Map<string, CompiledRequestRule[]>();
  policy.requests.forEach((rule, i) => {
    const host = canonicalHost(rule.host);
    terminated.add(destinationKey(host, rule.port));
    const compiled: CompiledRequestRule = {
      id: `requests:${[...rule.from].sort().join(",")}:${host}:${rule.port}`,
      name: rule.name ?? `${rule.from.join(",")}→${host}#${i}`,
      host,
      port: rule.port,
      allow: rule.allow.map(parseRequestMatch),
      deny: rule.deny.map(parseRequestMatch),
    };
    const identities = new Set(rule.from.flatMap((f) => input.expand(f)).map((p) => input.identityOf(p)));
    for (const id of identities) {
      const list = requestRules.get(id) ?? [];
      list.push(compiled);
      requestRules.set(id, list);
    }
  });
  placeholders.sort((a, b) => b.text.length - a.text.length);
  return { credentials, placeholders, terminated, requestRules };
}
