// Traefik configured through Docker labels (and its TRAEFIK_* environment): insecure API,
// dashboard without auth, routers without HSTS, rate limiting or TLS settings.
import type { Service, SourcePos } from "../../model/types.ts";
import type { Hit, Rule, RuleContext } from "../types.ts";
import { perService } from "./util.ts";

interface Router {
  name: string;
  service: Service;
  props: Map<string, string>;
  pos: SourcePos;
}

interface Middlewares {
  kinds: Map<string, Set<string>>;
}

const ROUTER = /^traefik\.http\.routers\.([^.]+)\.(.+)$/i;
const MIDDLEWARE = /^traefik\.http\.middlewares\.([^.]+)\.([^.]+)/i;

function labelPos(s: Service, key: string): SourcePos {
  return s.positions[`labels.${key}`] ?? s.pos;
}

function routers(ctx: RuleContext): Router[] {
  const out = new Map<string, Router>();
  for (const s of ctx.deployment.services) {
    if (s.labels["traefik.enable"]?.toLowerCase() === "false") continue;
    for (const [key, value] of Object.entries(s.labels)) {
      const m = ROUTER.exec(key);
      if (!m) continue;
      const name = m[1] ?? "";
      const id = `${s.name}/${name}`;
      let r = out.get(id);
      if (!r) {
        r = { name, service: s, props: new Map(), pos: labelPos(s, key) };
        out.set(id, r);
      }
      const prop = (m[2] ?? "").toLowerCase();
      r.props.set(prop, value);
      if (prop === "rule") r.pos = labelPos(s, key);
    }
  }
  return [...out.values()];
}

function middlewares(ctx: RuleContext): Middlewares {
  const kinds = new Map<string, Set<string>>();
  for (const s of ctx.deployment.services) {
    for (const key of Object.keys(s.labels)) {
      const m = MIDDLEWARE.exec(key);
      if (!m) continue;
      const name = (m[1] ?? "").toLowerCase();
      const set = kinds.get(name) ?? new Set<string>();
      let kind = (m[2] ?? "").toLowerCase();
      if (kind === "headers" && /stsseconds/i.test(key)) kind = "hsts";
      set.add(kind);
      kinds.set(name, set);
    }
  }
  return { kinds };
}

/** Whether a router's middlewares include one of `kinds`; undefined when one is defined elsewhere (file provider). */
function uses(r: Router, mw: Middlewares, kinds: string[]): boolean | undefined {
  const names = (r.props.get("middlewares") ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  let unknown = false;
  for (const raw of names) {
    const [name = "", provider] = raw.toLowerCase().split("@");
    const k = mw.kinds.get(name);
    if (!k) {
      if (provider && provider !== "docker") unknown = true;
      continue;
    }
    if (kinds.some((x) => k.has(x))) return true;
  }
  return unknown ? undefined : false;
}

function isRedirect(r: Router, mw: Middlewares): boolean {
  return uses(r, mw, ["redirectscheme"]) === true;
}

function isTraefik(s: Service): boolean {
  return s.containers.some((c) => /(^|\/)traefik(:|@|$)/i.test(c.image ?? ""));
}

function staticFlag(s: Service, name: string): { pos: SourcePos; value: string } | undefined {
  const envName = `TRAEFIK_${name.toUpperCase().replace(/\./g, "_")}`;
  for (const c of s.containers) {
    const e = c.env.find((x) => x.name.toUpperCase() === envName);
    if (e?.value !== undefined) return { pos: e.pos, value: e.value };
    const cmd = c.command;
    if (cmd) {
      const i = cmd.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
      if (i >= 0) {
        const arg = String(cmd[i]);
        return {
          pos: s.positions[`command.${i}`] ?? s.pos,
          value: arg.includes("=") ? (arg.split("=")[1] ?? "true") : "true",
        };
      }
    }
  }
  const label = s.labels[`traefik.${name}`];
  return label !== undefined ? { pos: labelPos(s, `traefik.${name}`), value: label } : undefined;
}

function routerRule(
  id: string,
  title: string,
  severity: Rule["severity"],
  rationale: string,
  fix: string,
  test: (r: Router, mw: Middlewares) => string | { message: string; severity: Rule["severity"] } | undefined,
): Rule {
  return {
    id,
    title,
    severity,
    family: "traefik",
    cwe: id === "CRL-T004" ? "CWE-770" : "CWE-319",
    platforms: ["compose"],
    rationale,
    fix,
    references: ["Traefik docs", "OWASP ASVS 9.1/14.4"],
    check: (ctx) => {
      const mw = middlewares(ctx);
      const out: Hit[] = [];
      for (const r of routers(ctx)) {
        if (r.props.get("service")?.toLowerCase() === "api@internal") continue;
        const got = test(r, mw);
        if (!got) continue;
        const { message, severity: sev } = typeof got === "string" ? { message: got, severity: undefined } : got;
        out.push({
          service: r.service,
          message: `router ${r.name}: ${message}`,
          pos: r.pos,
          ...(sev ? { severity: sev } : {}),
        });
      }
      return out;
    },
  };
}

export const traefikRules: Rule[] = [
  {
    id: "CRL-T001",
    title: "Traefik API in insecure mode",
    severity: "high",
    family: "traefik",
    cwe: "CWE-306",
    platforms: ["compose"],
    rationale:
      "`api.insecure=true` serves the API and dashboard on :8080 without authentication, showing every route, backend and middleware.",
    fix: "# remove --api.insecure; expose the dashboard through a router with authentication\nlabels:\n  - traefik.http.routers.dash.service=api@internal\n  - traefik.http.routers.dash.middlewares=dash-auth\n  - traefik.http.middlewares.dash-auth.basicauth.users=admin:$$apr1$$…",
    references: ["Traefik docs: api.insecure", "KICS"],
    check: (ctx) =>
      perService(ctx, (s) => {
        const f = staticFlag(s, "api.insecure");
        return f && /^(true|1|)$/i.test(f.value.trim()) && (isTraefik(s) || f.pos !== s.pos)
          ? {
              service: s,
              message: "Traefik API/dashboard served without authentication (api.insecure=true)",
              pos: f.pos,
            }
          : undefined;
      }),
  },
  {
    id: "CRL-T002",
    title: "Traefik dashboard exposed without authentication",
    severity: "high",
    family: "traefik",
    cwe: "CWE-306",
    platforms: ["compose"],
    rationale:
      "A router to api@internal without an auth middleware publishes the dashboard to whoever reaches the entrypoint.",
    fix: "labels:\n  - traefik.http.routers.dash.middlewares=dash-auth\n  - traefik.http.middlewares.dash-auth.basicauth.users=admin:$$apr1$$…",
    references: ["Traefik docs"],
    check: (ctx) => {
      const mw = middlewares(ctx);
      return routers(ctx)
        .filter((r) => r.props.get("service")?.toLowerCase() === "api@internal")
        .filter((r) => uses(r, mw, ["basicauth", "digestauth", "forwardauth"]) === false)
        .map((r) => ({
          service: r.service,
          message: `router ${r.name} exposes the Traefik dashboard (api@internal) without an auth middleware`,
          pos: r.pos,
        }));
    },
  },
  routerRule(
    "CRL-T003",
    "Router without HSTS",
    "low",
    "Without Strict-Transport-Security a browser can be downgraded to plain HTTP on the first visit.",
    "labels:\n  - traefik.http.middlewares.hsts.headers.stsSeconds=31536000\n  - traefik.http.middlewares.hsts.headers.stsIncludeSubdomains=true\n  - traefik.http.routers.app.middlewares=hsts",
    (r, mw) =>
      isRedirect(r, mw) || uses(r, mw, ["hsts"]) !== false ? undefined : "no HSTS headers middleware (stsSeconds)",
  ),
  routerRule(
    "CRL-T004",
    "Router without rate limiting",
    "low",
    "A router without a rateLimit middleware lets one client flood the agent API, running up model costs.",
    "labels:\n  - traefik.http.middlewares.rl.ratelimit.average=20\n  - traefik.http.middlewares.rl.ratelimit.burst=40\n  - traefik.http.routers.app.middlewares=rl",
    (r, mw) => (isRedirect(r, mw) || uses(r, mw, ["ratelimit"]) !== false ? undefined : "no rateLimit middleware"),
  ),
  routerRule(
    "CRL-T005",
    "Router without TLS or a TLS minimum version",
    "medium",
    "A router without TLS serves credentials and prompts in clear text; one with TLS but no options accepts the defaults instead of a stated minimum (VersionTLS12).",
    "labels:\n  - traefik.http.routers.app.tls=true\n  - traefik.http.routers.app.tls.options=modern@file   # minVersion: VersionTLS12",
    (r, mw) => {
      if (isRedirect(r, mw)) return undefined;
      const tls = [...r.props.keys()].some((k) => k === "tls" || k.startsWith("tls."));
      if (!tls || r.props.get("tls")?.toLowerCase() === "false") return "serves plain HTTP (no tls)";
      return r.props.has("tls.options")
        ? undefined
        : { message: "TLS without options setting a minimum version", severity: "low" };
    },
  ),
];
