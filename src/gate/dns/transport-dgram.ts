// DNS over UDP through node:dgram: the transport wherever the native batch socket is not built.
import dgram from "node:dgram";
import type { GateContext } from "../context.ts";
import { answerQuery, type DnsReply } from "./answer-query.ts";
import { sendable, type UdpTransport } from "./udp-transport.ts";

/**
 * Replies go to rinfo.address, always an IP literal: answer the lookup synchronously instead of
 * dns.lookup's extra tick per datagram.
 */
function literalLookup(
  address: string,
  family: unknown,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  cb(null, address, family === 6 || address.includes(":") ? 6 : 4);
}

/**
 * Replies leave after the batch of datagrams libuv read in this turn (setImmediate runs after
 * the poll phase): the client is woken once per burst instead of once per answer, and on a
 * busy loopback those wake-ups were most of the cost of each send.
 */
class UdpOut {
  private readonly udp: dgram.Socket;
  private queue: { buf: Buffer; port: number; address: string }[] = [];
  private scheduled = false;

  constructor(udp: dgram.Socket) {
    this.udp = udp;
  }

  push(buf: Buffer, port: number, address: string): void {
    this.queue.push({ buf, port, address });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const m of q) {
      try {
        this.udp.send(m.buf, m.port, m.address);
      } catch {
        // closed socket: the answers go nowhere, as they would have a moment later
      }
    }
  }
}

export async function openDgram(
  ctx: GateContext,
  host: string,
  port: number,
  reusePort: boolean,
): Promise<UdpTransport> {
  const udp = dgram.createSocket({
    type: host.includes(":") ? "udp6" : "udp4",
    reuseAddr: false,
    reusePort,
    lookup: literalLookup,
  });
  udp.on("error", () => {});
  const out = new UdpOut(udp);
  const send = (a: DnsReply | undefined, rinfo: dgram.RemoteInfo) => {
    if (a) out.push(sendable(a), rinfo.port, rinfo.address);
  };
  udp.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    try {
      const a = answerQuery(ctx, msg, rinfo.address);
      if (a instanceof Promise) a.then((r) => send(r, rinfo)).catch(() => {});
      else send(a, rinfo);
    } catch {}
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind({ port, address: host, exclusive: true }, () => {
      udp.off("error", reject);
      resolve();
    });
  });
  // Bursts of queries should queue in the kernel, not be dropped (capped by net.core.rmem_max).
  try {
    udp.setRecvBufferSize(4 * 1024 * 1024);
    udp.setSendBufferSize(4 * 1024 * 1024);
  } catch {}
  return {
    kind: "dgram",
    port: udp.address().port,
    stats: () => undefined,
    close: () => new Promise<void>((r) => udp.close(() => r())),
  };
}
