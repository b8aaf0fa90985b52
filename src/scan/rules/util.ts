// Small helpers shared by the rule families.

import type { Tier } from "../../model/tiers.ts";
import type { Container, Mount, Service } from "../../model/types.ts";
import { idOf } from "../ids.ts";
import type { Hit, RuleContext } from "../types.ts";

export function perContainer(ctx: RuleContext, fn: (s: Service, c: Container) => Hit | Hit[] | undefined): Hit[] {
  const out: Hit[] = [];
  for (const s of ctx.deployment.services) {
    for (const c of s.containers) {
      const h = fn(s, c);
      if (Array.isArray(h)) out.push(...h);
      else if (h) out.push(h);
    }
  }
  return out;
}

export function perService(ctx: RuleContext, fn: (s: Service) => Hit | Hit[] | undefined): Hit[] {
  const out: Hit[] = [];
  for (const s of ctx.deployment.services) {
    const h = fn(s);
    if (Array.isArray(h)) out.push(...h);
    else if (h) out.push(h);
  }
  return out;
}

export function tierOfService(ctx: RuleContext, s: Service): Tier {
  return ctx.tiers.get(idOf(s)) ?? "agents";
}

/** `in container "x"` for multi-container pods, nothing for compose. */
export function inCtr(s: Service, c: Container): string {
  return s.containers.length > 1 ? ` (container "${c.name}")` : "";
}

/** Host path with `$HOME`/`${HOME}` spelled `~` and no trailing slash, for matching. */
export function hostPath(m: Mount): string | undefined {
  if (m.type !== "bind" && m.type !== "hostPath") return undefined;
  if (!m.source) return undefined;
  let p = m.source.replace(/^(\$\{HOME\}|\$HOME)(?=\/|$)/, "~");
  if (p.length > 1) p = p.replace(/\/+$/, "");
  return p;
}

export function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}
