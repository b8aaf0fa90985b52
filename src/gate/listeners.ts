// The gate's three sockets: the HTTP proxy, the DNS server and the admin API, bound in that
// order (the admin API last, so /readyz answering means the others are up), and the addresses
// the SSRF floor must treat as the gate itself. Closing closes whatever was bound, so a start
// that fails half-way leaves nothing listening.
import { networkInterfaces } from "node:os";
import type { FastifyInstance } from "fastify";
import ipaddr from "ipaddr.js";
import type { HostPort } from "../policy/host-port.ts";
import { type AdminDeps, createAdminServer, listenAdmin } from "./admin/server.ts";
import type { GateContext } from "./context.ts";
import { type DnsServer, startDnsServer } from "./dns/server.ts";
import type { GateMetrics } from "./metrics.ts";
import { ProxyServer } from "./proxy/server.ts";
import type { Floor } from "./ssrf.ts";

export type ListenerName = "proxy" | "dns" | "admin";

export interface ListenPlan {
  /** where each listener binds (gate.listen with any overrides applied) */
  at: Record<ListenerName, HostPort>;
  serve: Record<ListenerName, boolean>;
  /** several worker processes share the ports (SO_REUSEPORT) */
  reusePort: boolean;
  dnsBatch: boolean;
  onDnsBatchUnavailable: (why: string) => void;
}

export class Listeners {
  proxy: ProxyServer | undefined;
  dns: DnsServer | undefined;
  admin: FastifyInstance | undefined;
  readonly addresses: Partial<Record<ListenerName, HostPort>> = {};

  /** Binds what the plan serves; on failure, whatever was bound stays for close(). */
  async start(plan: ListenPlan, ctx: GateContext, metrics: GateMetrics, admin: AdminDeps): Promise<void> {
    if (plan.serve.proxy) {
      const bytesUp = metrics.bytes.labels({ direction: "up" });
      const bytesDown = metrics.bytes.labels({ direction: "down" });
      this.proxy = new ProxyServer(ctx, {
        connections: (d) => metrics.connections.inc(d),
        tunnels: (d) => metrics.tunnels.inc(d),
        bytes: (dir, n) => (dir === "up" ? bytesUp : bytesDown).inc(n),
      });
      this.addresses.proxy = await this.proxy.listen(plan.at.proxy.host, plan.at.proxy.port, plan.reusePort);
    }
    if (plan.serve.dns) {
      this.dns = await startDnsServer(ctx, plan.at.dns.host, plan.at.dns.port, {
        reusePort: plan.reusePort,
        batch: plan.dnsBatch,
        onBatchUnavailable: plan.onDnsBatchUnavailable,
      });
      this.addresses.dns = this.dns.address;
    }
    if (plan.serve.admin) {
      this.admin = createAdminServer(admin);
      const a = await listenAdmin(this.admin, plan.at.admin.host, plan.at.admin.port);
      this.addresses.admin = { host: a.address, port: a.port };
    }
  }

  /**
   * Every address that is the gate, for the SSRF floor: what this process bound, and the fixed
   * ports of listeners another worker serves (its admin API is the gate too).
   */
  self(plan: ListenPlan): Floor["self"] {
    const bound = Object.values(this.addresses);
    for (const name of ["proxy", "dns", "admin"] as const)
      if (!plan.serve[name] && plan.at[name].port !== 0) bound.push(plan.at[name]);
    return selfAddresses(bound);
  }

  async close(): Promise<void> {
    await Promise.all([this.proxy?.close(true), this.dns?.close(), this.admin?.close()]);
  }
}

function selfAddresses(bound: HostPort[]): Floor["self"] {
  const out: { addr: ipaddr.IPv4 | ipaddr.IPv6; port?: number }[] = [];
  for (const b of bound) {
    const addr = ipaddr.parse(b.host);
    if (addr.range() === "unspecified") {
      // Listening on every address: every local address is the gate.
      for (const list of Object.values(networkInterfaces())) {
        for (const i of list ?? []) out.push({ addr: ipaddr.parse(i.address.split("%")[0]!), port: b.port });
      }
    } else out.push({ addr, port: b.port });
  }
  return out;
}
