// Plaintext secrets in environment variables: provider keys by format, high-entropy values
// and well-known default passwords. References (`${VAR}`), templates (`{{ x }}`) and empty
// values are not secrets in the file and are never reported.
import type { EnvVar, Service } from "../../model/types.ts";
import type { Hit, Rule, RuleContext } from "../types.ts";
import { fieldPos } from "../where.ts";
import { commandSecretRule } from "./command-secrets.ts";
import { DEFAULT_PASSWORDS } from "./passwords.ts";
import { inCtr, perContainer } from "./util.ts";

export const PROVIDER_KEYS: Array<{ name: string; re: RegExp }> = [
  { name: "Anthropic API key", re: /\bsk-ant-[A-Za-z0-9_-]{20,}/ },
  // OpenAI's own formats only: a bare `sk-` prefix is also how apps write their session secrets
  // (Dify's SECRET_KEY default), which the entropy rule reports for what it is.
  { name: "OpenAI API key", re: /\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|\bsk-[A-Za-z0-9]{48}\b/ },
  { name: "OpenAI-compatible provider API key (DeepSeek, DashScope, …)", re: /\bsk-[a-f0-9]{32}\b/ },
  { name: "AWS access key id", re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/ },
  { name: "GitHub token", re: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}/ },
  { name: "Slack token", re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { name: "Google API key", re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { name: "Stripe live key", re: /\b(?:sk|rk)_live_[0-9A-Za-z]{24,}/ },
  { name: "Hugging Face token", re: /\bhf_[A-Za-z]{34}\b/ },
  { name: "Groq API key", re: /\bgsk_[A-Za-z0-9]{52}\b/ },
];

// Plural KEYS/SECRETS hold lists of them (Weaviate's AUTHENTICATION_APIKEY_ALLOWED_KEYS); TOKENS
// stays out, it is how LLM settings name counts (MAX_TOKENS).
const SECRET_NAME = /(KEYS?|TOKEN|SECRETS?|PASSWORD|PASSWD|PWD|PASS|CREDENTIALS?)$/i;
// Keys that are public by design: Supabase's anon key ships to every browser, publishable keys too.
const PUBLIC_NAME = /(^|_)(ANON|PUBLIC|PUBLISHABLE)_KEY$/i;

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !PUBLIC_NAME.test(name);
}
const PASSWORD_NAME = /(PASSWORD|PASSWD|PWD|PASS)$/i;

export { DEFAULT_PASSWORDS } from "./passwords.ts";

/** PEM key material: CRL-S005's finding, not also a generic secret. */
function isPem(v: string): boolean {
  return /-----BEGIN ([A-Z]+ )*PRIVATE KEY-----/.test(v);
}

/** Bits per character (Shannon); random base64 ≈ 5–6, English words ≈ 3. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** A literal written in the file, not a reference, template or blank. */
export function literal(e: EnvVar): string | undefined {
  const v = e.value?.trim();
  if (!v || v.includes("${") || v.startsWith("$") || v.includes("{{")) return undefined;
  return v;
}

function providerKey(v: string): string | undefined {
  for (const { name, re } of PROVIDER_KEYS) {
    const m = re.exec(v);
    // A run of one character (sk-xxxxxxxx…) is a placeholder, not a key.
    if (m && entropy(m[0]) >= 3) return name;
  }
  return undefined;
}

export function isHighEntropy(v: string): boolean {
  return (v.length >= 16 && entropy(v) >= 4) || (v.length >= 24 && entropy(v) >= 3.5 && /\d/.test(v));
}

function userOf(env: EnvVar[], passwordVar: string): string | undefined {
  const stem = passwordVar.replace(PASSWORD_NAME, "");
  const u = env.find((e) => e.name === `${stem}USER` || e.name === `${stem}USERNAME`);
  return u ? literal(u) : undefined;
}

// Template values shipped as defaults ("your-super-secret-and-long-postgres-password" in the
// Supabase/AutoGPT files): public, so as guessable as "password", however long they are.
const PLACEHOLDER = /^(your[-_]|<[^>]+>$|change[-_]?me|replace[-_]?me|please[-_]change)/i;

function isDefaultPassword(e: EnvVar, env: EnvVar[]): boolean {
  const v = literal(e);
  if (!v) return false;
  if (isSecretName(e.name) && PLACEHOLDER.test(v)) return true;
  // A token or key set to "123456" or "changeme" is as guessable as a password set to it.
  if (PASSWORD_NAME.test(e.name)) return DEFAULT_PASSWORDS.has(v.toLowerCase()) || v === userOf(env, e.name);
  return isSecretName(e.name) && DEFAULT_PASSWORDS.has(v.toLowerCase());
}

// The user part may be empty: `redis://:password@redis:6379` is how Redis URLs carry a password.
const URL_CREDS = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@/\s]+)@/i;

/**
 * Whether the value is written in the deployment file itself. Interpolation (`${VAR}` filled
 * from the shell or `.env`) and env_file values are where secrets belong, so only text that
 * appears verbatim at the variable's position counts. Without sources (hand-built tests) the
 * value is taken as written.
 */
function writtenInFile(ctx: RuleContext, e: EnvVar, v: string): boolean {
  if (e.from !== "inline") return false;
  const lines = ctx.sources?.get(e.pos.file);
  if (!lines) return true;
  const first = v.split("\n")[0]?.trim() ?? v;
  return lines
    .slice(e.pos.line - 1, e.pos.line + 3)
    .join("\n")
    .includes(first);
}

function envHits(ctx: RuleContext, fn: (e: EnvVar, v: string, env: EnvVar[], s: Service) => string | undefined): Hit[] {
  return perContainer(ctx, (s, c) =>
    c.env.flatMap((e) => {
      const v = literal(e);
      if (v === undefined || !writtenInFile(ctx, e, v)) return [];
      const msg = fn(e, v, c.env, s);
      // Kubernetes env entries start at `name:`; the literal is on the `value:` line.
      return msg ? [{ service: s, message: `${msg}${inCtr(s, c)}`, pos: fieldPos(s, e.pos, "value") }] : [];
    }),
  );
}

const secretFix =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
  "# compose: reference the value, keep it in an untracked .env or a secret\nenvironment:\n  - OPENAI_API_KEY=${OPENAI_API_KEY}\nsecrets: [openai_key]\n# kubernetes:\nenv:\n  - name: OPENAI_API_KEY\n    valueFrom: { secretKeyRef: { name: llm, key: openai } }";

export const secretRules: Rule[] = [
  {
    id: "CRL-S001",
    title: "Provider API key in plaintext",
    severity: "critical",
    family: "secrets",
    cwe: "CWE-798",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A live OpenAI/Anthropic/AWS/GitHub/Slack/Google key in a deployment file is in every clone, image layer and CI log; model keys are billed to you and often over-scoped.",
    fix: secretFix,
    references: ["KICS", "Checkov secrets", "Trivy secret scanning", "gitleaks"],
    check: (ctx) =>
      envHits(ctx, (e, v) => {
        const kind = providerKey(v);
        return kind ? `${e.name} holds a plaintext ${kind}` : undefined;
      }),
  },
  {
    id: "CRL-S002",
    title: "High-entropy secret in plaintext",
    severity: "high",
    family: "secrets",
    cwe: "CWE-798",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A random-looking value in a *_KEY/*_TOKEN/*_SECRET/*PASSWORD variable is almost certainly a real credential committed to the file.",
    fix: secretFix,
    references: ["KICS", "Checkov secrets", "Trivy"],
    check: (ctx) =>
      envHits(ctx, (e, v, env) =>
        isSecretName(e.name) && !providerKey(v) && !isPem(v) && isHighEntropy(v) && !isDefaultPassword(e, env)
          ? `${e.name} holds a plaintext high-entropy secret`
          : undefined,
      ),
  },
  {
    id: "CRL-S003",
    title: "Default or trivial password",
    severity: "high",
    family: "secrets",
    cwe: "CWE-1393",
    platforms: ["compose", "kubernetes"],
    rationale:
      "Default passwords (password, postgres, admin, changeme, the user name …), shipped template values (your-super-secret-…) and tokens or keys set to 123456 are the first thing anyone tries.",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    fix: "environment:\n  - POSTGRES_PASSWORD=${POSTGRES_PASSWORD:?set a password in .env}",
    references: ["CWE-1393", "KICS", "Trivy"],
    check: (ctx) =>
      envHits(ctx, (e, v, env) =>
        isDefaultPassword(e, env)
          ? `${e.name} is set to the ${PLACEHOLDER.test(v) ? "placeholder default" : PASSWORD_NAME.test(e.name) ? "default password" : "trivial value"} "${v}"`
          : undefined,
      ),
  },
  {
    id: "CRL-S004",
    title: "Hard-coded secret value",
    severity: "medium",
    family: "secrets",
    cwe: "CWE-798",
    platforms: ["compose", "kubernetes"],
    rationale: "A secret-named variable with a literal value ships the same secret to every deployment of this file.",
    fix: secretFix,
    references: ["KICS", "Checkov"],
    check: (ctx) =>
      envHits(ctx, (e, v, env) => {
        if (!isSecretName(e.name) || providerKey(v) || isPem(v) || isHighEntropy(v) || isDefaultPassword(e, env))
          return undefined;
        if (/^(true|false|yes|no|on|off|none|null|\d+)$/i.test(v) || v.startsWith("/") || v.length < 4)
          return undefined;
        return `${e.name} is a hard-coded literal`;
      }),
  },
  {
    id: "CRL-S005",
    title: "Private key in environment",
    severity: "critical",
    family: "secrets",
    cwe: "CWE-321",
    platforms: ["compose", "kubernetes"],
    rationale: "PEM private key material in the deployment file is a permanent, unrotatable leak.",
    fix: "secrets:\n  - tls_key   # mount as a file from a secret store",
    references: ["gitleaks private-key", "Trivy"],
    check: (ctx) => envHits(ctx, (e, v) => (isPem(v) ? `${e.name} contains a PEM private key` : undefined)),
  },
  {
    id: "CRL-S006",
    title: "Credentials embedded in a connection URL",
    severity: "high",
    family: "secrets",
    cwe: "CWE-798",
    platforms: ["compose", "kubernetes"],
    rationale:
      "A password inside DATABASE_URL/REDIS_URL is a plaintext secret that is also printed in logs and error messages.",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    fix: "environment:\n  - DATABASE_URL=postgresql://app:${DB_PASSWORD}@postgres:5432/app",
    references: ["KICS", "gitleaks"],
    check: (ctx) =>
      envHits(ctx, (e, v) => {
        const m = URL_CREDS.exec(v);
        return m ? `${e.name} embeds a password in its URL` : undefined;
      }),
  },
  commandSecretRule,
];
