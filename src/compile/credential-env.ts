// What `credentials:` changes in the compose overlay, pure: each service that holds a brokered
// key (by its variable, or because the credential is `for` it) gets its own placeholder in that
// variable instead; the real value goes to the gate alone (its environment, or its secret file
// mounted read-only); and the gate's clients trust the gate CA through the variables the usual
// runtimes read. The gate derives the same placeholders (src/gate/credentials/credential-index.ts).
import type { Service } from "../model/types.ts";
import { agentVariable, guessFormat, placeholderFor } from "../policy/placeholder.ts";
import type { Policy } from "../policy/schema.ts";
import { UserError } from "../policy/user-error.ts";
import { expandName } from "../policy/zones.ts";

/** Where the agents mount the gate's published CA (the corral-gate-ca volume), read-only. */
export const CA_MOUNT = "/etc/corral/ca";

/**
 * Trust for the gate CA, per runtime: Node adds NODE_EXTRA_CA_CERTS to its roots; the others
 * replace their store with the file given, so they get the bundle (public roots + the gate CA)
 * and every other destination still verifies. Covered: Node (and Bun), Python ssl/requests/
 * httpx/pip, curl and libcurl, OpenSSL-based tools, Go, git, the AWS SDKs, Deno, gRPC.
 * Not covered: a JVM (a keystore, not a file variable) and clients with compiled-in roots
 * (rustls with webpki-roots, certifi used directly).
 */
export function trustVariables(): Record<string, string> {
  const bundle = `${CA_MOUNT}/bundle.pem`;
  return {
    NODE_EXTRA_CA_CERTS: `${CA_MOUNT}/ca.crt`,
    SSL_CERT_FILE: bundle,
    REQUESTS_CA_BUNDLE: bundle,
    CURL_CA_BUNDLE: bundle,
    PIP_CERT: bundle,
    GIT_SSL_CAINFO: bundle,
    AWS_CA_BUNDLE: bundle,
    DENO_CERT: bundle,
    GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: bundle,
  };
}

export interface CredentialWiring {
  /** the policy terminates some destinations: the gate publishes its CA, its clients trust it */
  terminates: boolean;
  /** service → variable → its placeholder */
  placeholders: Map<string, Record<string, string>>;
  /** the gate's own environment: each `value: { env }`, taken from the project's environment */
  gateEnv: Record<string, string>;
  /** each `value: { file }`: mounted read-only into the gate at the same path */
  gateFiles: string[];
}

function principalsOf(policy: Policy, name: string, services: readonly Service[]): string[] {
  const ident = policy.identities[name];
  if (ident) return ident.services ?? [];
  return expandName(policy, name, services as Service[]);
}

/** A real value this short is only replaced where it is the whole value, not found inside others. */
const MIN_EMBEDDED = 8;

export function credentialWiring(
  policy: Policy,
  d: { services: readonly Service[]; variable?: (name: string) => string | undefined },
): CredentialWiring {
  const placeholders = new Map<string, Record<string, string>>();
  const gateEnv: Record<string, string> = {};
  const gateFiles: string[] = [];
  const project = policy.project ?? "";
  for (const [name, c] of Object.entries(policy.credentials)) {
    const variable = agentVariable(name, c);
    const format = c.format ?? guessFormat(variable);
    const users = new Set(c.for.flatMap((f) => principalsOf(policy, f, d.services)));
    // The key as the deployment holds it: the variable compose would substitute, and the value
    // of the credential's own variable in any service. Anywhere else it shows up, whole or
    // inside a longer value (`Bearer ${KEY}`, a URL's `?key=${KEY}`), it is the same key.
    const values = new Set(
      [
        "env" in c.value ? d.variable?.(c.value.env) : undefined,
        ...d.services.flatMap((svc) =>
          svc.containers.flatMap((k) => k.env.filter((e) => e.name === variable).map((e) => e.value)),
        ),
      ].filter((v): v is string => v !== undefined && v.length > 0),
    );
    const within = (text: string) =>
      [...values].some((v) => text === v || (v.length >= MIN_EMBEDDED && text.includes(v)));
    for (const svc of d.services) {
      const mine = placeholderFor(project, name, svc.name, format);
      const vars: Record<string, string> = {};
      for (const e of svc.containers.flatMap((k) => k.env)) {
        if (e.name === variable) vars[e.name] = mine;
        else if (e.value !== undefined && within(e.value))
          vars[e.name] = [...values].reduce((t, v) => (t === v ? mine : t.replaceAll(v, mine)), e.value);
      }
      if (users.has(svc.name)) vars[variable] = mine;
      if (svc.containers.some((k) => (k.command ?? []).some(within)))
        throw new UserError(`service ${svc.name}: its command holds the real value of credential '${name}'`, {
          pos: svc.positions.command ?? svc.pos,
          hint: `pass it through $${variable} in the environment instead, so the overlay can give the service a placeholder`,
        });
      if (Object.keys(vars).length === 0) continue;
      placeholders.set(svc.name, { ...(placeholders.get(svc.name) ?? {}), ...vars });
    }
    if ("env" in c.value)
      gateEnv[c.value.env] = `\${${c.value.env}:?set ${c.value.env} for the corral gate (credential ${name})}`;
    // Absolute (policy/check.ts): the gate container reads it at the same path.
    else if (!gateFiles.includes(c.value.file)) gateFiles.push(c.value.file);
  }
  const terminates = Object.keys(policy.credentials).length > 0 || policy.requests.length > 0;
  return { terminates, placeholders, gateEnv, gateFiles };
}
