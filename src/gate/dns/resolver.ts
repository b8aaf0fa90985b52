// The gate's own name resolution: the DNS server and the proxy share it, so the proxy dials
// exactly an address it checked, resolved once, through the same upstreams and cache.
import type * as dns from "dns-packet";
import ipaddr from "ipaddr.js";
import type { Addr } from "../ssrf.ts";
import { TtlCache } from "./cache.ts";
import { UpstreamClient, type UpstreamOptions } from "./upstream.ts";

export interface Resolved {
  packet: dns.Packet;
  fromCache: boolean;
  /** whole seconds the answer spent in the cache */
  ageSeconds: number;
  /** cached answers: milliseconds until ageSeconds changes or the entry expires */
  stableMs?: number;
}

const NEGATIVE_TTL = 30;
const MAX_TTL = 86_400;

function minTtl(p: dns.Packet): number {
  const ttls = [...(p.answers ?? []), ...(p.authorities ?? [])]
    .filter((a) => a.type !== "OPT")
    .map((a) => ("ttl" in a && typeof a.ttl === "number" ? a.ttl : 0));
  if (ttls.length === 0) return NEGATIVE_TTL;
  return Math.min(MAX_TTL, ...ttls);
}

function rcodeOf(p: dns.Packet): number {
  return (p.flags ?? 0) & 0xf;
}

export class Resolver {
  readonly cache: TtlCache;
  private readonly upstream: UpstreamClient;
  private readonly inflight = new Map<string, Promise<dns.Packet>>();
  private readonly now: () => number;

  constructor(opts: UpstreamOptions & { cacheMax: number; now?: () => number }) {
    this.cache = new TtlCache(opts.cacheMax);
    this.upstream = new UpstreamClient(opts);
    this.now = opts.now ?? Date.now;
  }

  /** The cached answer, synchronously (the DNS server's fast path), or undefined. */
  peek(name: string, type: dns.Question["type"]): Resolved | undefined {
    const now = this.now();
    const hit = this.cache.get(TtlCache.key(name, type), now);
    if (!hit) return undefined;
    const held = now - hit.storedAt;
    return {
      packet: hit.packet,
      fromCache: true,
      ageSeconds: Math.floor(held / 1000),
      stableMs: Math.min(1000 - (held % 1000), hit.expires - now),
    };
  }

  /** One question, answered from cache or upstream (concurrent identical questions share one query). */
  async lookup(name: string, type: dns.Question["type"]): Promise<Resolved> {
    const key = TtlCache.key(name, type);
    const hit = this.peek(name, type);
    if (hit) return hit;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.upstream.query({ name, type, class: "IN" }).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
      const packet = await p;
      const rcode = rcodeOf(packet);
      // Cache answers and NXDOMAIN; never SERVFAIL/REFUSED (transient).
      if (rcode === 0 || rcode === 3) this.cache.set(key, packet, minTtl(packet), this.now());
      return { packet, fromCache: false, ageSeconds: 0 };
    }
    return { packet: await p, fromCache: false, ageSeconds: 0 };
  }

  /** IPv4 then IPv6 addresses of a name (A answers first; CNAME chains followed as given). */
  async addresses(name: string): Promise<{ addrs: Addr[]; nxdomain: boolean }> {
    const [a, aaaa] = await Promise.allSettled([this.lookup(name, "A"), this.lookup(name, "AAAA")]);
    const addrs: Addr[] = [];
    let nxdomain = false;
    for (const r of [a, aaaa]) {
      if (r.status !== "fulfilled") continue;
      if (rcodeOf(r.value.packet) === 3) nxdomain = true;
      for (const ans of r.value.packet.answers ?? []) {
        if ((ans.type === "A" || ans.type === "AAAA") && typeof ans.data === "string" && ipaddr.isValid(ans.data)) {
          addrs.push(ipaddr.parse(ans.data));
        }
      }
    }
    if (a.status === "rejected" && aaaa.status === "rejected") throw a.reason;
    return { addrs, nxdomain: nxdomain && addrs.length === 0 };
  }

  close(): void {
    this.upstream.close();
    this.cache.clear();
  }
}
