// Service → address maps for identifying clients by source address, from `--map svc=ip`
// flags and JSON files ({"svc": "ip"} or {"svc": ["ip", …]}); discovery.ts finds compose replicas by name.
import { readFileSync } from "node:fs";
import ipaddr from "ipaddr.js";
import { UserError } from "../policy/user-error.ts";

export type ServiceMap = Record<string, string[]>;

export function parseMapFlag(flag: string): [string, string] {
  const eq = flag.indexOf("=");
  const service = flag.slice(0, eq);
  const addr = flag.slice(eq + 1);
  if (eq <= 0 || !ipaddr.isValid(addr))
    throw new UserError(`--map '${flag}': expected service=ip, e.g. --map celery=172.18.0.5`);
  return [service, addr];
}

export function readMapFile(path: string): ServiceMap {
  const data = JSON.parse(readFileSync(path, "utf8")) as unknown;
  if (!data || typeof data !== "object" || Array.isArray(data))
    throw new UserError(`${path}: expected a JSON object {"service": "ip"}`);
  const out: ServiceMap = {};
  for (const [k, v] of Object.entries(data)) {
    const list = Array.isArray(v) ? v : [v];
    for (const a of list)
      if (typeof a !== "string" || !ipaddr.isValid(a))
        throw new UserError(`${path}: '${k}' must map to an IP address or a list of them`);
    out[k] = list as string[];
  }
  return out;
}

export function mergeMaps(file: ServiceMap, flags: [string, string][]): ServiceMap {
  const out: ServiceMap = { ...file };
  for (const [s, a] of flags) out[s] = [...(out[s] ?? []), a];
  return out;
}

/** Both maps' addresses per service (a static `--map` and what discovery found). */
export function mergeServiceMaps(a: Record<string, string | string[]>, b: ServiceMap): ServiceMap {
  const out: ServiceMap = {};
  for (const [k, v] of Object.entries(a)) out[k] = Array.isArray(v) ? [...v] : [v];
  for (const [k, v] of Object.entries(b)) out[k] = [...(out[k] ?? []), ...v];
  return out;
}
