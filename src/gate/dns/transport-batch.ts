// DNS over UDP through native/dnsbatch.c: datagrams read and written in batches, and repeats
// of a just-answered query answered from a kernel-side table (counted back here as events).
import type { GateContext } from "../context.ts";
import { answerQuery, type DnsReply } from "./answer-query.ts";
import { BatchUdp, type dnsBatchAddon } from "./udp-batch.ts";
import { sendable, type UdpTransport } from "./udp-transport.ts";

export function openBatch(
  ctx: GateContext,
  onChange: NonNullable<GateContext["onChange"]>,
  addon: Exclude<ReturnType<typeof dnsBatchAddon>, Error>,
  host: string,
  port: number,
  reusePort: boolean,
): UdpTransport {
  let sock: BatchUdp | undefined;
  const send = (a: DnsReply | undefined, address: string, port: number) => {
    if (a) sock?.send(sendable(a), address, port);
  };
  sock = new BatchUdp(
    addon,
    host,
    port,
    reusePort,
    (msg, address, port) => {
      const a = answerQuery(ctx, msg, address);
      if (a instanceof Promise) {
        a.then((r) => send(r, address, port)).catch(() => {});
        return;
      }
      send(a, address, port);
      if (a?.repeat && a.wire && a.wire.length <= a.udpSize)
        sock?.install(address, msg, a.wire, a.repeat.until - ctx.now(), a.repeat.event);
    },
    (ev, count, nsPerHit) => ctx.publish({ ...ev, time: ctx.now(), latencyMs: nsPerHit / 1e6 }, count),
  );
  const batch = sock;
  const unsubscribe = onChange(() => batch.clear());
  return {
    kind: "batch",
    port: batch.port,
    stats: () => batch.stats(),
    close: async () => {
      unsubscribe();
      batch.close();
    },
  };
}
