// The allowlist resolver's listeners: UDP (native batches when built, else node:dgram) and TCP
// on one port. Answers come from answer-query.ts; this file only binds and closes.
import type net from "node:net";
import type { GateContext } from "../context.ts";
import { openBatch } from "./transport-batch.ts";
import { openDgram } from "./transport-dgram.ts";
import { dnsTcpServer } from "./transport-tcp.ts";
import { type BatchStats, dnsBatchAddon } from "./udp-batch.ts";
import type { UdpTransport } from "./udp-transport.ts";

export { answerQuery, type DnsReply, handleQuery } from "./answer-query.ts";

export interface DnsServer {
  /** how UDP is read and written: native batches (udp-batch.ts) or node:dgram */
  transport: "batch" | "dgram";
  /** the batch transport's counters */
  batchStats(): BatchStats | undefined;
  tcp: net.Server;
  address: { host: string; port: number };
  close(): Promise<void>;
}

export interface DnsServerOptions {
  /** one of several processes on this port (SO_REUSEPORT) */
  reusePort?: boolean;
  /** use native/dnsbatch.c when it is built (default); false keeps to node:dgram */
  batch?: boolean;
  /** told once when batch was asked for and is not available */
  onBatchUnavailable?: (why: string) => void;
}

export async function startDnsServer(
  ctx: GateContext,
  host: string,
  port: number,
  opts: DnsServerOptions = {},
): Promise<DnsServer> {
  const reusePort = opts.reusePort ?? false;
  // Repeats may only be remembered by a context that says when to forget them.
  const onChange = ctx.onChange;
  const addon = opts.batch === false || !onChange ? undefined : dnsBatchAddon();
  if (addon instanceof Error) opts.onBatchUnavailable?.(addon.message);
  const openUdp = async (p: number): Promise<UdpTransport> =>
    addon && !(addon instanceof Error) && onChange
      ? openBatch(ctx, onChange, addon, host, p, reusePort)
      : openDgram(ctx, host, p, reusePort);
  // UDP and TCP share one port number. With port 0 the kernel picks the UDP port, and that
  // TCP port may be taken: try again with another.
  for (let attempt = 0; ; attempt++) {
    const udp = await openUdp(port);
    const boundPort = udp.port;
    const { server: tcp, sockets } = dnsTcpServer(ctx);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen({ port: boundPort, host, ...(reusePort ? { reusePort: true, exclusive: true } : {}) }, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      await udp.close();
      if (port !== 0 || attempt >= 10) throw err;
      continue;
    }
    return {
      transport: udp.kind,
      batchStats: () => udp.stats(),
      tcp,
      address: { host, port: boundPort },
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([udp.close(), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}
